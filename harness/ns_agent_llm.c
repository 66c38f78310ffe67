/*
 * ns_agent_llm.c - the `llm` agent kind and the judge (see ns_agent_llm.h).
 *
 * A side's state walks IDLE -> WAITING -> READY -> IDLE per move, or ends
 * in FAILED. The prompts are rendered for each request and dropped once it
 * is asked (the session keeps its own copy): a waiting negotiation holds
 * no prompt text, which is what lets thousands wait at once. A repair
 * renders them again (the negotiation has not moved) and adds the invalid
 * answer and what was wrong with it.
 */
#include "ns_agent_llm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ns_prompt.h"
#include "ns_reply.h"

typedef enum { PH_IDLE, PH_WAITING, PH_READY, PH_FAILED } phase;

typedef struct llm_agent {
    int side;
    phase ph;
    int repaired;              /* the move being asked has had its repair */
    const ns_negotiation *neg;
    char *answer;              /* the invalid answer a repair quotes */
    char *text;                /* the move's message (handed to the engine) */
    ns_move move;
    ns_llm_turn_row call;      /* how the move was obtained */
    ns_move_failure failure;
} llm_agent;

static void agent_clear(llm_agent *a)
{
    free(a->answer);
    free(a->text);
    a->answer = a->text = NULL;
}

static void llm_begin(void *state, const ns_negotiation *neg, int side)
{
    llm_agent *a = state;
    memset(a, 0, sizeof *a);
    a->side = side;
    a->neg = neg;
}

static void llm_end(void *state) { agent_clear(state); }

/* ---- texts of the turns so far --------------------------------------------- */

/* NUL-terminated copies of each turn's text (the arena holds them without
 * terminators); free with free_texts. */
static char **turn_texts(const ns_negotiation *neg)
{
    const ns_block *b = neg->record;
    char **t = ns_xcalloc((size_t)neg->n_turns + 1, sizeof *t);
    for (int k = 0; k < neg->n_turns; k++) {
        const ns_llm_turn_row *r = &b->llm_turns[neg->record_turn0 + (size_t)k];
        t[k] = ns_xmalloc((size_t)r->text_len + 1);
        memcpy(t[k], b->arena + r->text_off, r->text_len);
        t[k][r->text_len] = '\0';
    }
    return t;
}

static void free_texts(char **t, int n)
{
    for (int k = 0; k < n; k++)
        free(t[k]);
    free(t);
}

/* ---- accounting ---------------------------------------------------------------- */

static void account(ns_llm_host *h, int who, const ns_llm_answer *ans)
{
    ns_llm_job_row *row = ns_llm_host_row(h);
    row->retries += ans->retries;
    if (ans->fault != NS_FAULT_NONE)
        return;
    row->requests++;
    row->cache_hits += ans->call.cached;
    row->input_tokens += ans->call.input_tokens;
    row->output_tokens += ans->call.output_tokens;
    row->cost_usd += ans->call.cost_usd;
    row->side_cost_usd[who] += ans->call.cost_usd;
    if (!ans->call.cached) {
        h->latency_sum_ms += ans->call.latency_ms;
        h->latency_n++;
    }
}

static void record_fault(ns_llm_host *h, const ns_llm_answer *ans)
{
    ns_llm_job_row *row = ns_llm_host_row(h);
    if (ans->fault == NS_FAULT_BUDGET || ans->fault == NS_FAULT_CANCELLED)
        h->budget_refused = 1;
    NS_SET(row->error, ns_fault_names[ans->fault]);
    NS_SET(row->error_message, ans->message);
}

void ns_llm_host_finish(ns_llm_host *h)
{
    ns_llm_host_row(h)->latency_ms = h->latency_n ? h->latency_sum_ms / h->latency_n : NAN;
}

/* The chat of a request: the turn prompt, and for a repair the invalid
 * answer and what was wrong with it (*repair, to be freed by the caller).
 * Returns the message count. */
static size_t build_chat(ns_chat_message msg[3], const char *turn, const char *answer,
                         const char *problem, char **repair)
{
    msg[0] = (ns_chat_message){NS_ROLE_USER, turn};
    *repair = NULL;
    if (!problem)
        return 1;
    msg[1] = (ns_chat_message){NS_ROLE_ASSISTANT, answer ? answer : ""};
    *repair = ns_reply_repair_text(problem);
    msg[2] = (ns_chat_message){NS_ROLE_USER, *repair};
    return 3;
}

/* ---- moves ----------------------------------------------------------------------- */

static int on_move(void *user, const ns_llm_answer *ans);

static ns_status render_prompts(llm_agent *a, ns_llm_host *h, char **system, char **turn,
                                ns_error *err);

/* Asks for the move; with `problem`, as the repair of the invalid answer
 * kept in a->answer. */
static ns_status ask_move(llm_agent *a, ns_llm_host *h, const char *problem, ns_error *err)
{
    char *system = NULL, *turn = NULL, *repair = NULL;
    ns_status st = render_prompts(a, h, &system, &turn, err);
    if (st) {
        free(system);
        free(turn);
        return st;
    }
    ns_chat_message msg[3];
    size_t n = build_chat(msg, turn, a->answer, problem, &repair);
    const ns_side_setup *ss = &a->neg->job->side[a->side];
    ns_llm_call call = {
        .model = ss->llm,
        .system = system,
        .messages = msg,
        .n_messages = n,
        .schema = ns_llm_move_schema(h->llm, a->neg->sc),
        .schema_name = "negotiation_move",
        .variant = a->neg->job->repetition,
        .done = on_move,
        .user = a,
    };
    st = ns_llm_ask(h->llm, &call, err);
    free(system);
    free(turn);
    free(repair);
    return st;
}

static ns_status render_prompts(llm_agent *a, ns_llm_host *h, char **system, char **turn,
                                ns_error *err)
{
    const ns_negotiation *neg = a->neg;
    ns_prompt_vars v;
    ns_prompt_vars_init(&v);
    char **texts = turn_texts(neg);
    ns_prompt_vars_fill(&v, ns_llm_markers(h->llm), neg, a->side,
                        ns_llm_config_of(h->llm)->window, (const char *const *)texts);
    ns_status st = ns_template_render(ns_llm_template(h->llm, NS_PROMPT_SYSTEM),
                                      ns_prompt_lookup, &v, system, err);
    if (!st)
        st = ns_template_render(ns_llm_template(h->llm, NS_PROMPT_TURN), ns_prompt_lookup, &v,
                                turn, err);
    free_texts(texts, neg->n_turns);
    ns_prompt_vars_free(&v);
    return st;
}

static void fail_move(llm_agent *a, ns_llm_host *h, ns_move_failure f, const char *why)
{
    ns_llm_job_row *row = ns_llm_host_row(h);
    if (!row->error[0])
        NS_SET(row->error, f == NS_MOVE_INVALID ? "invalid_output" : "internal");
    if (!row->error_message[0])
        NS_SET(row->error_message, why);
    a->failure = f;
    a->ph = PH_FAILED;
}

static int on_move(void *user, const ns_llm_answer *ans)
{
    llm_agent *a = user;
    ns_llm_host *h = a->neg->host;
    account(h, a->side, ans);
    if (ans->fault != NS_FAULT_NONE) {
        record_fault(h, ans);
        a->failure = NS_MOVE_ERROR;
        a->ph = PH_FAILED;
        h->wake(h);
        return 0;
    }
    char problem[512];
    char *message = NULL;
    ns_move mv;
    memset(&mv, 0, sizeof mv);
    if (ns_reply_parse_move(a->neg->sc, ans->text, &mv, &message, problem, sizeof problem) ==
        NS_OK) {
        a->move = mv;
        free(a->text);
        a->text = message;
        a->call = ans->call;
        a->call.repaired = (int8_t)a->repaired;
        a->ph = PH_READY;
        h->wake(h);
        return 1;
    }
    free(message);
    ns_llm_job_row *row = ns_llm_host_row(h);
    if (!a->repaired) {
        /* one repair: the model sees its answer and what was wrong with it */
        ns_error err;
        a->repaired = 1;
        row->repairs++;
        free(a->answer);
        a->answer = ns_xstrdup(ans->text);
        if (ask_move(a, h, problem, &err) == NS_OK)
            return 0;
        fail_move(a, h, NS_MOVE_ERROR, err.msg);
        h->wake(h);
        return 0;
    }
    row->invalid_outputs++;
    fail_move(a, h, NS_MOVE_INVALID, problem);
    h->wake(h);
    return 0;
}

static int llm_decide(void *state, const ns_negotiation *neg, ns_move *move)
{
    llm_agent *a = state;
    ns_llm_host *h = neg->host;
    ns_error err;
    switch (a->ph) {
    case PH_READY:
        *move = a->move;
        move->text = a->text; /* the engine copies it before the next decide */
        move->llm = &a->call;
        move->failure = NS_MOVE_OK;
        a->ph = PH_IDLE;
        return NS_AGENT_READY;
    case PH_FAILED:
        memset(move, 0, sizeof *move);
        move->failure = a->failure;
        return NS_AGENT_READY;
    case PH_WAITING:
        return NS_AGENT_PENDING;
    case PH_IDLE:
        break;
    }
    agent_clear(a);
    a->repaired = 0;
    ns_status st = ask_move(a, h, NULL, &err);
    if (st) {
        ns_llm_redact(h->llm, err.msg, sizeof err.msg);
        fail_move(a, h, NS_MOVE_ERROR, err.msg);
        memset(move, 0, sizeof *move);
        move->failure = NS_MOVE_ERROR;
        return NS_AGENT_READY;
    }
    a->ph = PH_WAITING;
    return NS_AGENT_PENDING;
}

const ns_agent_kind ns_agent_llm = {
    .name = "llm",
    .state_size = sizeof(llm_agent),
    .begin = llm_begin,
    .decide = llm_decide,
    .end = llm_end,
};

/* ---- the judge ----------------------------------------------------------------- */

typedef struct judge_call {
    ns_llm_host *h;
    uint32_t variant;
    char *system, *turn, *answer;
    int repaired;
} judge_call;

static void judge_free(judge_call *j)
{
    free(j->system);
    free(j->turn);
    free(j->answer);
    free(j);
}

static int on_judgement(void *user, const ns_llm_answer *ans);

static ns_status judge_send(judge_call *j, const char *problem, ns_error *err)
{
    const ns_llm_config *cfg = ns_llm_config_of(j->h->llm);
    ns_chat_message msg[3];
    char *repair;
    size_t n = build_chat(msg, j->turn, j->answer, problem, &repair);
    ns_llm_call call = {
        .model = &cfg->judge,
        .system = j->system,
        .messages = msg,
        .n_messages = n,
        .schema = ns_llm_judge_schema(j->h->llm),
        .schema_name = "judgement",
        .variant = j->variant,
        .done = on_judgement,
        .user = j,
    };
    ns_status st = ns_llm_ask(j->h->llm, &call, err);
    free(repair);
    return st;
}

static void judge_settle(judge_call *j)
{
    ns_llm_host *h = j->h;
    h->judge_pending = 0;
    h->judge_done = 1;
    judge_free(j);
    h->wake(h);
}

static void store_judgement(ns_llm_host *h, const ns_judgement *jd)
{
    ns_llm_job_row *row = ns_llm_host_row(h);
    for (int s = 0; s < 2; s++) {
        row->influencing_score[s] = jd->side[s].influencing;
        row->tactic_score[s] = jd->side[s].tactic;
        size_t len = strlen(jd->side[s].summary);
        row->summary_off[s] = ns_block_add_text(h->blk, jd->side[s].summary, len);
        row->summary_len[s] = (uint32_t)len;
    }
}

static int on_judgement(void *user, const ns_llm_answer *ans)
{
    judge_call *j = user;
    ns_llm_host *h = j->h;
    account(h, 2, ans);
    if (ans->fault != NS_FAULT_NONE) {
        /* the negotiation stands; only its evaluation is missing */
        record_fault(h, ans);
        judge_settle(j);
        return 0;
    }
    ns_judgement jd;
    char problem[512];
    if (ns_reply_parse_judgement(ans->text, &jd, problem, sizeof problem) == NS_OK) {
        store_judgement(h, &jd);
        judge_settle(j);
        return 1;
    }
    ns_llm_job_row *row = ns_llm_host_row(h);
    if (!j->repaired) {
        ns_error err;
        j->repaired = 1;
        row->repairs++;
        free(j->answer);
        j->answer = ns_xstrdup(ans->text);
        if (judge_send(j, problem, &err) == NS_OK)
            return 0;
        NS_SET(row->error_message, err.msg);
    } else {
        row->invalid_outputs++;
        NS_SET(row->error, "invalid_output");
        NS_SET(row->error_message, problem);
    }
    judge_settle(j);
    return 0;
}

ns_status ns_llm_judge_ask(ns_llm_host *h, const ns_negotiation *neg, ns_error *err)
{
    const ns_llm_config *cfg = ns_llm_config_of(h->llm);
    judge_call *j = ns_xcalloc(1, sizeof *j);
    j->h = h;
    j->variant = neg->job->repetition;
    ns_prompt_vars v;
    ns_prompt_vars_init(&v);
    char **texts = turn_texts(neg);
    ns_prompt_vars_fill_judge(&v, ns_llm_markers(h->llm), neg, (const char *const *)texts,
                              cfg->judge_language);
    ns_status st = ns_template_render(ns_llm_template(h->llm, NS_PROMPT_JUDGE_SYSTEM),
                                      ns_prompt_lookup, &v, &j->system, err);
    if (!st)
        st = ns_template_render(ns_llm_template(h->llm, NS_PROMPT_JUDGE_TURN),
                                ns_prompt_lookup, &v, &j->turn, err);
    free_texts(texts, neg->n_turns);
    ns_prompt_vars_free(&v);
    NS_SET(ns_llm_host_row(h)->model[2], cfg->judge.full);
    if (!st)
        st = judge_send(j, NULL, err);
    if (st) {
        ns_llm_redact(h->llm, err->msg, sizeof err->msg);
        NS_SET(ns_llm_host_row(h)->error, "internal");
        NS_SET(ns_llm_host_row(h)->error_message, err->msg);
        judge_free(j);
        h->judge_done = 1;
        return st;
    }
    h->judge_pending = 1;
    return NS_OK;
}
