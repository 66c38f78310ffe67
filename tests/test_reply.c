/*
 * test_reply.c - structured answers (ns_reply.c): the move schema built
 * from scenarios/supplier_contract.yaml and scenarios/used_car.yaml, the
 * judge schema, finding the JSON object in bare, fenced and prose-wrapped
 * text, every kind of invalid move with the problem text the model gets
 * back, snapping and clamping of offer values, discrete option names, and
 * judgements valid, out of range, fractional and incomplete.
 *
 * Expected values are worked out by hand from the scenario files:
 *   used_car: price continuous 8000..16000 EUR, step 50.
 *   supplier_contract: unit_price continuous 8..16 step 0.05; volume
 *   integer 5000..50000 step 500; delivery_time integer 1..16 step 1;
 *   payment_terms discrete [upfront, net30, net60, net90]; warranty
 *   integer 6..36 step 6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_reply.h"

#include "ns_test.h"
#include "ns_test_json.h"

static ns_scenario *car, *supply;

static int idx(const ns_scenario *sc, const char *name)
{
    int i = ns_scenario_issue_index(sc, name);
    CHECK(i >= 0, "no issue %s in %s", name, sc->name);
    return i < 0 ? 0 : i;
}

/* ---------------------------------------------------------------- schemas */

static void test_move_schema(void)
{
    json_t *s = ns_reply_move_schema(supply);
    CHECK(s != NULL, "supplier schema");
    if (!s)
        return;
    CHECK(strcmp(json_string_value(json_at(s, "type")), "object") == 0, "top type");
    CHECK(json_is_false(json_at(s, "additionalProperties")), "top additionalProperties false");
    json_t *req = json_pack("[sss]", "message", "action", "offer");
    CHECK(json_equal(json_at(s, "required"), req), "top required");
    json_decref(req);
    CHECK_STR("string", json_string_value(json_at(s, "properties.message.type")), "message type");
    json_t *acts = json_pack("[sss]", "offer", "accept", "walk_away");
    CHECK(json_equal(json_at(s, "properties.action.enum"), acts), "action enum");
    json_decref(acts);

    json_t *offer = json_at(s, "properties.offer");
    CHECK_STR("object", json_string_value(json_at(offer, "type")), "offer type");
    CHECK(json_is_false(json_at(offer, "additionalProperties")), "offer additionalProperties");
    json_t *names = json_pack("[sssss]", "unit_price", "volume", "delivery_time",
                              "payment_terms", "warranty");
    CHECK(json_equal(json_at(offer, "required"), names), "offer requires all five issues");
    json_decref(names);
    CHECK(json_object_size(json_at(offer, "properties")) == 5, "five issue properties");

    json_t *p = json_at(offer, "properties.unit_price");
    CHECK_STR("number", json_string_value(json_at(p, "type")), "unit_price type");
    CHECK(json_number_value(json_at(p, "minimum")) == 8 && json_number_value(json_at(p, "maximum")) == 16,
          "unit_price range");
    p = json_at(offer, "properties.volume");
    CHECK_STR("integer", json_string_value(json_at(p, "type")), "volume type");
    CHECK(json_is_integer(json_at(p, "minimum")) && json_integer_value(json_at(p, "minimum")) == 5000 &&
              json_integer_value(json_at(p, "maximum")) == 50000,
          "volume bounds are integers 5000..50000");
    p = json_at(offer, "properties.payment_terms");
    CHECK_STR("string", json_string_value(json_at(p, "type")), "payment_terms type");
    json_t *opts = json_pack("[ssss]", "upfront", "net30", "net60", "net90");
    CHECK(json_equal(json_at(p, "enum"), opts), "payment_terms enum");
    json_decref(opts);
    CHECK(json_at(p, "minimum") == NULL, "discrete issue has no minimum");
    json_decref(s);

    s = ns_reply_move_schema(car);
    CHECK(json_object_size(json_at(s, "properties.offer.properties")) == 1, "car: one issue");
    CHECK(json_number_value(json_at(s, "properties.offer.properties.price.maximum")) == 16000,
          "car price max");
    json_decref(s);
}

static void test_judge_schema(void)
{
    json_t *s = ns_reply_judge_schema();
    json_t *req = json_pack("[ss]", "buyer", "seller");
    CHECK(json_equal(json_at(s, "required"), req), "judge required");
    json_decref(req);
    CHECK(json_is_false(json_at(s, "additionalProperties")), "judge additionalProperties");
    const char *sides[2] = {"buyer", "seller"};
    for (int k = 0; k < 2; k++) {
        char path[128];
        snprintf(path, sizeof path, "properties.%s", sides[k]);
        json_t *side = json_at(s, path);
        json_t *r3 = json_pack("[sss]", "tactical_summary", "influencing_effectiveness_score",
                               "tactic_effectiveness_score");
        CHECK(json_equal(json_at(side, "required"), r3), "%s required", sides[k]);
        json_decref(r3);
        CHECK(json_is_false(json_at(side, "additionalProperties")), "%s closed", sides[k]);
        CHECK_STR("string", json_string_value(json_at(side, "properties.tactical_summary.type")),
              "summary type");
        const char *sc[2] = {"influencing_effectiveness_score", "tactic_effectiveness_score"};
        for (int j = 0; j < 2; j++) {
            snprintf(path, sizeof path, "properties.%s", sc[j]);
            json_t *v = json_at(side, path);
            CHECK_STR("integer", json_string_value(json_at(v, "type")), sc[j]);
            CHECK(json_integer_value(json_at(v, "minimum")) == 1 &&
                      json_integer_value(json_at(v, "maximum")) == 10,
                  "%s.%s range 1..10", sides[k], sc[j]);
        }
    }
    json_decref(s);
}

/* ---------------------------------------------------------------- moves */

/* Parses a move that must be valid; returns the message (caller frees). */
static char *move_ok(const ns_scenario *sc, const char *text, ns_move *mv, const char *what)
{
    char problem[512] = "unset";
    char *msg = NULL;
    ns_status st = ns_reply_parse_move(sc, text, mv, &msg, problem, sizeof problem);
    CHECK(st == NS_OK, "%s: expected a valid move, got problem \"%s\"", what, problem);
    if (st == NS_OK)
        CHECK(problem[0] == '\0', "%s: problem not cleared", what);
    return msg;
}

/* Parses a move that must be invalid and checks that the problem text
 * contains `want`. */
static void move_bad(const ns_scenario *sc, const char *text, const char *want)
{
    char problem[512] = "";
    char *msg = (char *)"sentinel";
    ns_move mv;
    ns_status st = ns_reply_parse_move(sc, text, &mv, &msg, problem, sizeof problem);
    CHECK(st == NS_ERR_INPUT, "expected invalid for %s", text);
    CHECK(msg == NULL, "message_out must be NULL on failure");
    CHECK(strstr(problem, want) != NULL, "problem text:\n  want \"%s\"\n  in   \"%s\"", want,
          problem);
}

static void test_extraction(void)
{
    const char *bare = "{\"message\":\"How about 12000?\",\"action\":\"offer\","
                       "\"offer\":{\"price\":12000}}";
    const char *texts[] = {
        bare,
        "```json\n{\"message\": \"How about 12000?\", \"action\": \"offer\", \"offer\": "
        "{\"price\": 12000}}\n```",
        "Sure! Here is my move:\n\n{\"message\": \"How about 12000?\", \"action\": "
        "\"offer\", \"offer\": {\"price\": 12000}}\n\nI hope we can agree.",
        "I keep {price} firm in mind. {\"message\": \"How about 12000?\", \"action\": "
        "\"offer\", \"offer\": {\"price\": 12000}} Thanks {bye}",
        "{\"move\": {\"message\": \"How about 12000?\", \"action\": \"offer\", \"offer\": "
        "{\"price\": 12000}}}",
        "  \n{\"message\":\"How about 12000?\",\"action\":\"OFFER\",\"offer\":"
        "{\"Price\":\"12000\"}}  ",
    };
    const char *what[] = {"bare", "fenced", "prose", "braces in prose", "wrapped",
                          "case and numeric string"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        ns_move mv;
        char *msg = move_ok(car, texts[k], &mv, what[k]);
        CHECK(mv.action == NS_ACT_OFFER, "%s: action", what[k]);
        CHECK(mv.value[0] == 12000, "%s: price %g", what[k], mv.value[0]);
        CHECK_STR("How about 12000?", msg, what[k]);
        CHECK(mv.text == msg, "%s: mv.text points at the message", what[k]);
        free(msg);
    }

    /* no message pointer wanted */
    ns_move mv;
    char problem[64];
    CHECK(ns_reply_parse_move(car, bare, &mv, NULL, problem, sizeof problem) == NS_OK,
          "message_out NULL");
    CHECK(mv.text == NULL, "mv.text NULL without message_out");

    move_bad(car, "I accept your offer.", "reply is not a JSON object");
    move_bad(car, "", "reply is not a JSON object");
    move_bad(car, "{\"message\": \"x\", \"action\": \"offer\", \"offer\": {\"price\": 12000},}",
             "reply is not valid JSON");
    move_bad(car, "```json\n{\"message\": \"x\" \"action\": \"accept\"}\n```",
             "reply is not valid JSON");
}

static void test_move_values(void)
{
    ns_move mv;
    char *msg;

    /* snapping to the 50 EUR grid from 8000 */
    msg = move_ok(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":12012}}",
                  &mv, "12012");
    CHECK(mv.value[0] == 12000, "12012 snaps to 12000, got %.17g", mv.value[0]);
    free(msg);
    msg = move_ok(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":12030.5}}",
                  &mv, "12030.5");
    CHECK(mv.value[0] == 12050, "12030.5 snaps to 12050, got %.17g", mv.value[0]);
    free(msg);
    /* a hair outside the range: clamped */
    msg = move_ok(car,
                  "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":16000.000001}}",
                  &mv, "hair above");
    CHECK(mv.value[0] == 16000, "16000.000001 clamps to 16000, got %.17g", mv.value[0]);
    free(msg);
    msg = move_ok(car,
                  "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":7999.999999}}",
                  &mv, "hair below");
    CHECK(mv.value[0] == 8000, "7999.999999 clamps to 8000, got %.17g", mv.value[0]);
    free(msg);

    /* out of range */
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":31000}}",
             "offer.price = 31000 is above the maximum 16000");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":7000}}",
             "offer.price = 7000 is below the minimum 8000");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":16000.1}}",
             "is above the maximum 16000");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":\"12,000 EUR\"}}",
             "offer.price must be a number, got \"12,000 EUR\"");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":null}}",
             "offer.price must be a number");

    /* all five supplier issues, discrete by name */
    msg = move_ok(supply,
                  "{\"message\":\"Our offer.\",\"action\":\"offer\",\"offer\":{\"unit_price\":"
                  "9.537,\"volume\":12345,\"delivery_time\":3.4,\"payment_terms\":\"net60\","
                  "\"warranty\":20}}",
                  &mv, "supplier");
    CHECK(fabs(mv.value[idx(supply, "unit_price")] - 9.55) < 1e-9, "9.537 -> 9.55, got %.17g",
          mv.value[idx(supply, "unit_price")]);
    CHECK(mv.value[idx(supply, "volume")] == 12500, "12345 -> 12500, got %g",
          mv.value[idx(supply, "volume")]);
    CHECK(mv.value[idx(supply, "delivery_time")] == 3, "3.4 -> 3, got %g",
          mv.value[idx(supply, "delivery_time")]);
    CHECK(mv.value[idx(supply, "payment_terms")] == 2, "net60 is option 2, got %g",
          mv.value[idx(supply, "payment_terms")]);
    CHECK(mv.value[idx(supply, "warranty")] == 18, "20 -> 18 (6+2*6), got %g",
          mv.value[idx(supply, "warranty")]);
    free(msg);

    msg = move_ok(supply,
                  "{\"message\":\"\",\"action\":\"offer\",\"offer\":{\"unit_price\":16,"
                  "\"volume\":50000,\"delivery_time\":1,\"payment_terms\":\"UPFRONT\","
                  "\"warranty\":6}}",
                  &mv, "supplier extremes");
    CHECK(mv.value[idx(supply, "payment_terms")] == 0, "UPFRONT matches upfront");
    CHECK(mv.value[idx(supply, "unit_price")] == 16, "unit_price 16");
    CHECK_STR("", msg, "empty message allowed");
    free(msg);

    move_bad(supply,
             "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"unit_price\":10,\"volume\":"
             "10000,\"delivery_time\":4,\"payment_terms\":\"net45\",\"warranty\":12}}",
             "offer.payment_terms = \"net45\" is not one of the options: upfront, net30, "
             "net60, net90");
    move_bad(supply,
             "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"unit_price\":10,\"volume\":"
             "10000,\"delivery_time\":4,\"payment_terms\":\"net30\"}}",
             "missing issue 'warranty'");
    move_bad(supply,
             "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"unit_price\":10,\"volume\":"
             "10000,\"delivery_time\":4,\"payment_terms\":\"net30\",\"warranty\":12,"
             "\"colour\":\"red\"}}",
             "unknown issue 'colour'; the issues are: unit_price, volume, delivery_time, "
             "payment_terms, warranty");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":{\"price\":1,\"Price\":2}}",
             "issue 'price' is given twice");
}

static void test_move_actions(void)
{
    ns_move mv;
    char *msg;
    msg = move_ok(car, "{\"message\":\"Deal.\",\"action\":\"accept\"}", &mv, "accept, no offer");
    CHECK(mv.action == NS_ACT_ACCEPT, "accept");
    CHECK_STR("Deal.", msg, "accept message");
    free(msg);
    msg = move_ok(car, "{\"message\":\"Bye.\",\"action\":\"walk_away\",\"offer\":\"none\"}", &mv,
                  "walk_away, junk offer");
    CHECK(mv.action == NS_ACT_WALK, "walk_away");
    free(msg);
    msg = move_ok(car,
                  "{\"message\":\"Bye.\",\"action\":\"walk\",\"offer\":{\"price\":99999}}",
                  &mv, "walk alias, out-of-range offer ignored");
    CHECK(mv.action == NS_ACT_WALK, "walk alias");
    free(msg);

    move_bad(car, "{\"message\":\"a\",\"action\":\"haggle\",\"offer\":{\"price\":12000}}",
             "action must be one of offer, accept, walk_away");
    move_bad(car, "{\"message\":\"a\",\"action\":3}",
             "action must be one of offer, accept, walk_away");
    move_bad(car, "{\"message\":\"a\",\"offer\":{\"price\":12000}}", "missing field 'action'");
    move_bad(car, "{\"action\":\"offer\",\"offer\":{\"price\":12000}}",
             "missing field 'message'");
    move_bad(car, "{\"message\":7,\"action\":\"accept\"}", "message must be a string");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\"}", "missing field 'offer'");
    move_bad(car, "{\"message\":\"a\",\"action\":\"offer\",\"offer\":[12000]}",
             "offer must be a JSON object");

    /* every problem is reported, not just the first */
    const char *two = "{\"action\":\"offer\",\"offer\":{\"price\":31000,\"colour\":\"red\"}}";
    move_bad(car, two, "missing field 'message'");
    move_bad(car, two, "offer.price = 31000 is above the maximum 16000");
    move_bad(car, two, "unknown issue 'colour'; the issues are: price");

    /* a tiny problem buffer is filled, terminated, and not overrun */
    char tiny[12];
    memset(tiny, 'x', sizeof tiny);
    CHECK(ns_reply_parse_move(car, two, &mv, NULL, tiny, sizeof tiny) == NS_ERR_INPUT, "tiny");
    CHECK(memchr(tiny, '\0', sizeof tiny) != NULL, "tiny buffer terminated");
    CHECK(ns_reply_parse_move(car, two, &mv, NULL, NULL, 0) == NS_ERR_INPUT, "no buffer");
}

/* ---------------------------------------------------------------- judge */

static const char *judge_ok =
    "Here is my evaluation:\n```json\n{\"buyer\": {\"tactical_summary\": \"The buyer anchored "
    "low and conceded slowly.\", \"influencing_effectiveness_score\": 7, "
    "\"tactic_effectiveness_score\": 8.0}, \"seller\": {\"tactical_summary\": \"The seller "
    "gave ground early.\", \"influencing_effectiveness_score\": \"4\", "
    "\"tactic_effectiveness_score\": 10}}\n```";

static void judge_bad(const char *text, const char *want)
{
    char problem[512] = "";
    ns_judgement j;
    CHECK(ns_reply_parse_judgement(text, &j, problem, sizeof problem) == NS_ERR_INPUT,
          "expected an invalid judgement: %s", text);
    CHECK(strstr(problem, want) != NULL, "judge problem:\n  want \"%s\"\n  in   \"%s\"", want,
          problem);
}

static void test_judgement(void)
{
    ns_judgement j;
    char problem[256] = "unset";
    CHECK(ns_reply_parse_judgement(judge_ok, &j, problem, sizeof problem) == NS_OK,
          "valid judgement: %s", problem);
    CHECK_STR("The buyer anchored low and conceded slowly.", j.side[NS_BUYER].summary, "buyer");
    CHECK_STR("The seller gave ground early.", j.side[NS_SELLER].summary, "seller");
    CHECK(j.side[NS_BUYER].influencing == 7 && j.side[NS_BUYER].tactic == 8,
          "buyer scores %d %d", j.side[NS_BUYER].influencing, j.side[NS_BUYER].tactic);
    CHECK(j.side[NS_SELLER].influencing == 4 && j.side[NS_SELLER].tactic == 10,
          "seller scores %d %d", j.side[NS_SELLER].influencing, j.side[NS_SELLER].tactic);

    const char *side = "{\"tactical_summary\":\"s\",\"influencing_effectiveness_score\":5,"
                       "\"tactic_effectiveness_score\":5}";
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"buyer\":{\"tactical_summary\":\"s\",\"influencing_effectiveness_score\":11,"
             "\"tactic_effectiveness_score\":5},\"seller\":%s}", side);
    judge_bad(buf, "buyer.influencing_effectiveness_score = 11 is outside 1..10");
    snprintf(buf, sizeof buf,
             "{\"buyer\":%s,\"seller\":{\"tactical_summary\":\"s\","
             "\"influencing_effectiveness_score\":3,\"tactic_effectiveness_score\":0}}", side);
    judge_bad(buf, "seller.tactic_effectiveness_score = 0 is outside 1..10");
    snprintf(buf, sizeof buf,
             "{\"buyer\":%s,\"seller\":{\"tactical_summary\":\"s\","
             "\"influencing_effectiveness_score\":7.5,\"tactic_effectiveness_score\":3}}", side);
    judge_bad(buf, "seller.influencing_effectiveness_score must be a whole number from 1 to "
                   "10, got 7.5");
    snprintf(buf, sizeof buf,
             "{\"buyer\":%s,\"seller\":{\"tactical_summary\":\"s\","
             "\"influencing_effectiveness_score\":\"high\",\"tactic_effectiveness_score\":3}}",
             side);
    judge_bad(buf, "must be a whole number from 1 to 10, got \"high\"");
    snprintf(buf, sizeof buf, "{\"buyer\":%s}", side);
    judge_bad(buf, "missing side 'seller'");
    snprintf(buf, sizeof buf,
             "{\"buyer\":%s,\"seller\":{\"tactical_summary\":\"s\","
             "\"influencing_effectiveness_score\":3}}", side);
    judge_bad(buf, "missing seller.tactic_effectiveness_score");
    snprintf(buf, sizeof buf,
             "{\"buyer\":{\"tactical_summary\":\"\",\"influencing_effectiveness_score\":5,"
             "\"tactic_effectiveness_score\":5},\"seller\":%s}", side);
    judge_bad(buf, "buyer.tactical_summary must be a non-empty string");
    snprintf(buf, sizeof buf,
             "{\"buyer\":{\"influencing_effectiveness_score\":5,"
             "\"tactic_effectiveness_score\":5},\"seller\":%s}", side);
    judge_bad(buf, "missing buyer.tactical_summary");
    judge_bad("{\"buyer\": 5, \"seller\": {}}", "buyer must be a JSON object");
    judge_bad("The negotiation went well for both.", "reply is not a JSON object");

    /* a summary longer than the buffer is cut on a UTF-8 boundary */
    size_t n = 3000;
    char *longtext = malloc(n + 512);
    char *w = longtext + sprintf(longtext, "{\"buyer\":%s,\"seller\":{\"tactical_summary\":\"",
                                 side);
    for (size_t k = 0; k < 1000; k++) { /* 1000 x "é": 2000 bytes */
        *w++ = '\xc3';
        *w++ = '\xa9';
    }
    sprintf(w, "\",\"influencing_effectiveness_score\":2,\"tactic_effectiveness_score\":9}}");
    CHECK(ns_reply_parse_judgement(longtext, &j, problem, sizeof problem) == NS_OK,
          "long summary: %s", problem);
    size_t len = strlen(j.side[NS_SELLER].summary);
    /* 1023 bytes would fit but end inside a letter: 511 whole letters */
    CHECK(len == 1022, "cut to 1022 bytes, got %zu", len);
    CHECK(((unsigned char)j.side[NS_SELLER].summary[len - 1] & 0xC0) == 0x80 &&
              (unsigned char)j.side[NS_SELLER].summary[len - 2] == 0xc3,
          "ends on a whole letter");
    CHECK(j.side[NS_SELLER].tactic == 9, "seller tactic 9");
    free(longtext);
}

static void test_repair(void)
{
    char *r = ns_reply_repair_text("missing issue 'warranty'");
    CHECK_STR("Your previous reply was invalid: missing issue 'warranty'. Reply again with only a "
          "JSON object following the schema.",
          r, "repair text");
    free(r);
    r = ns_reply_repair_text("reply is not a JSON object.");
    CHECK_STR("Your previous reply was invalid: reply is not a JSON object. Reply again with only "
          "a JSON object following the schema.",
          r, "no double full stop");
    free(r);
}

int main(void)
{
    ns_error err = {0};
    ns_status st = ns_scenario_load_file("scenarios/used_car.yaml", &car, &err);
    CHECK_ST(st, NS_OK, err);
    st = ns_scenario_load_file("scenarios/supplier_contract.yaml", &supply, &err);
    CHECK_ST(st, NS_OK, err);
    if (!car || !supply)
        return ns_test_report("test_reply");
    test_move_schema();
    test_judge_schema();
    test_extraction();
    test_move_values();
    test_move_actions();
    test_judgement();
    test_repair();
    ns_scenario_free(car);
    ns_scenario_free(supply);
    return ns_test_report("test_reply");
}
