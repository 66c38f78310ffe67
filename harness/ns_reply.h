/*
 * ns_reply.h - the structured answers LLM agents give: the JSON schemas a
 * negotiator's move and a judge's verdict must follow, and the tolerant
 * readers that turn a model's text back into an ns_move or an
 * ns_judgement, saying in plain words what was wrong when they cannot (the
 * text goes back to the model in the one repair request).
 *
 * A move:      {"message": "...", "action": "offer" | "accept" | "walk_away",
 *               "offer": {"<issue>": number | "<option name>", ...}}
 * A judgement: {"buyer":  {"tactical_summary": "...",
 *                          "influencing_effectiveness_score": 1..10,
 *                          "tactic_effectiveness_score": 1..10},
 *               "seller": {...}}
 *
 * Tolerance: the JSON object may be the whole text, sit inside ```json
 * fences or be surrounded by prose; action names and issue names match
 * case-insensitively ("walk" is taken for walk_away); numbers written as
 * strings ("12000") are read; offer values are snapped to the grid
 * and values out of range by no more than 1e-9 (relative) are clamped.
 * Anything else is invalid. No I/O; everything is reentrant.
 */
#ifndef NS_REPLY_H
#define NS_REPLY_H

#include <jansson.h>
#include <stddef.h>

#include "ns_agent.h"
#include "ns_scenario.h"
#include "ns_status.h"

#define NS_SUMMARY_LEN 1024

/* JSON schema of a move for scenario `sc` (new reference; json_decref it).
 * Continuous issues are numbers, integer issues integers, both with
 * minimum/maximum; discrete issues are strings enumerating the option
 * names. Every field is required and no other is allowed (OpenAI's strict
 * mode needs both). */
json_t *ns_reply_move_schema(const ns_scenario *sc);

/* JSON schema of a judgement (new reference). */
json_t *ns_reply_judge_schema(void);

/* The JSON object in a model's text: the first object that has key
 * `want` (may be NULL: the first object at all), found by trying
 * json_loadb at each '{'. NULL when there is none; then, when `problem`
 * is given, it says why ("reply is not a JSON object", or jansson's
 * complaint about the first candidate). New reference. */
json_t *ns_reply_extract(const char *text, const char *want, char *problem, size_t size);

/* Reads a move. On NS_OK: mv->action, and for an offer mv->value[i] per
 * issue index (discrete issues: the option index) on the grid; for
 * accept/walk_away the values are 0 and any offer is ignored. The message
 * text is returned in *message_out (malloc'd; the caller frees it; may be
 * "") and mv->text points at it; message_out may be NULL, and then
 * mv->text is NULL. On NS_ERR_INPUT, `problem` says every thing wrong,
 * separated by "; ", in words fit to send back to the model, and
 * *message_out is NULL. */
ns_status ns_reply_parse_move(const ns_scenario *sc, const char *text, ns_move *mv,
                              char **message_out, char *problem, size_t problem_size);

typedef struct ns_judge_side {
    char summary[NS_SUMMARY_LEN]; /* tactical_summary, cut at a UTF-8 boundary */
    int influencing;              /* influencing_effectiveness_score, 1..10 */
    int tactic;                   /* tactic_effectiveness_score, 1..10 */
} ns_judge_side;

typedef struct ns_judgement {
    ns_judge_side side[2];        /* NS_BUYER, NS_SELLER */
} ns_judgement;

/* Reads a judgement. Scores must be whole numbers 1..10 (7 and 7.0 and
 * "7" are taken; 7.5, 0 and 11 are not) and summaries non-empty strings;
 * NS_ERR_INPUT with `problem` saying what was wrong otherwise. */
ns_status ns_reply_parse_judgement(const char *text, ns_judgement *out, char *problem,
                                   size_t problem_size);

/* The user message of the repair request for `problem` (malloc'd):
 * "Your previous reply was invalid: PROBLEM. Reply again with only a JSON
 * object following the schema." */
char *ns_reply_repair_text(const char *problem);

#endif
