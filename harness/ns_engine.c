/*
 * ns_engine.c - the alternating-offers state machine (see ns_engine.h).
 *
 * One engine per worker thread runs one negotiation at a time:
 * start() seeds the job's RNG and lets both agents begin; step() asks the
 * side to move for a move, checks it against the protocol, records it as a
 * turn row (and a transcript row), and moves the state on; when the
 * negotiation ends, the outcome row is filled in. Nothing here allocates
 * after creation, because run() is called millions of times.
 */
#include "ns_engine.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ns_frontier.h"
#include "ns_message.h"

const char *const ns_ending_names[6] = {"",        "agreement",      "walkaway",
                                        "impasse", "invalid_output", "error"};


struct ns_engine {
    const ns_spec *spec;
    const ns_catalog *cat;
    int transcripts;
    gsl_rng *rng;
    ns_negotiation neg;
    ns_block *blk;
    size_t row;                 /* the job's index in blk */
    const ns_agent_kind *agent[2];
    /* ns_side_names / ns_action_names as the NUL-padded 8-byte fields of
     * the turn rows, so that a turn copies them whole (NS_SET measured
     * and padded them three times a turn) */
    char side_field[2][8], action_field[3][8];
    _Alignas(16) unsigned char agent_state[2][NS_AGENT_STATE_MAX];
};

_Static_assert(sizeof(((ns_turn_row *)0)->speaker) == 8 &&
                   sizeof(((ns_turn_row *)0)->action) == 8 &&
                   sizeof(((ns_transcript_row *)0)->speaker) == 8,
               "side_field and action_field match the row fields");

ns_engine *ns_engine_create(const ns_spec *spec)
{
    ns_engine *e = ns_xcalloc(1, sizeof *e);
    e->spec = spec;
    e->cat = ns_spec_catalog(spec);
    e->transcripts = ns_spec_transcripts(spec);
    /* taus2: small state and cheap seeding, which matters when every job
     * reseeds; good statistical quality (L'Ecuyer 1996). */
    e->rng = gsl_rng_alloc(gsl_rng_taus2);
    if (!e->rng) {
        free(e);
        return NULL;
    }
    e->neg.max_rounds = ns_spec_max_rounds(spec);
    e->neg.max_turns = 2 * e->neg.max_rounds;
    e->neg.turns = ns_xcalloc((size_t)e->neg.max_turns, sizeof *e->neg.turns);
    e->neg.cat = e->cat;
    e->neg.rng = e->rng;
    for (int i = 0; i < 2; i++)
        NS_SET(e->side_field[i], ns_side_names[i]);
    for (int i = 0; i < 3; i++)
        NS_SET(e->action_field[i], ns_action_names[i]);
    return e;
}

/* Lets the agents of the previous negotiation release what they own. */
static void end_agents(ns_engine *e)
{
    for (int s = 0; s < 2; s++)
        if (e->agent[s] && e->agent[s]->end)
            e->agent[s]->end(e->agent_state[s]);
}

void ns_engine_destroy(ns_engine *e)
{
    if (!e)
        return;
    end_agents(e);
    gsl_rng_free(e->rng);
    free(e->neg.turns);
    free(e);
}

const ns_negotiation *ns_engine_negotiation(const ns_engine *e) { return &e->neg; }

void ns_engine_set_host(ns_engine *e, void *host) { e->neg.host = host; }

/* Every state change goes through here, so there is one place to watch. */
static void set_state(ns_engine *e, ns_neg_state s)
{
    assert(e->neg.state != NS_NEG_DONE || s == NS_NEG_DONE);
    e->neg.state = s;
}

static void fill_job_row(ns_engine *e, const ns_job *job)
{
    ns_job_row *r = &e->blk->jobs[e->row];
    r->job_id = job->id;
    r->seed = job->seed;
    r->repetition = job->repetition;
    r->scenario_index = job->scenario_index;
    NS_SET(r->scenario, job->sc->name);
    NS_SET(r->opener, ns_side_names[job->opener]);
    for (int s = 0; s < 2; s++) {
        const ns_side_setup *ss = &job->side[s];
        NS_SET(r->agent[s], ss->agent);
        NS_SET(r->personality[s], ss->personality);
        memcpy(r->trait[s], ss->trait, sizeof r->trait[s]);
        NS_SET(r->tactic[s], ns_catalog_technique(e->cat, NS_TACTIC, ss->tactic)->name);
        NS_SET(r->influence[s],
               ns_catalog_technique(e->cat, NS_INFLUENCE, ss->influence)->name);
    }
    if (!e->blk->has_llm)
        return;
    /* accounting starts empty; NaN marks "no value" where 0 would lie */
    ns_llm_job_row *l = &e->blk->llm_jobs[e->row];
    for (int s = 0; s < 2; s++) {
        NS_SET(l->model[s], job->side[s].model);
        l->influencing_score[s] = l->tactic_score[s] = NAN;
    }
    l->latency_ms = NAN;
}

void ns_engine_start(ns_engine *e, const ns_job *job, ns_block *blk)
{
    ns_negotiation *n = &e->neg;
    end_agents(e);
    e->blk = blk;
    e->row = ns_block_add_job(blk);
    fill_job_row(e, job);
    gsl_rng_set(e->rng, job->seed);
    n->job = job;
    n->sc = job->sc;
    n->n_turns = 0;
    n->to_move = job->opener;
    n->last_offer[0] = n->last_offer[1] = -1;
    n->ending = NS_END_NONE;
    n->closed_by = -1;
    n->state = NS_NEG_READY;
    n->record = blk;
    n->record_turn0 = blk->n_turns;
    n->record_job = e->row;
    for (int s = 0; s < 2; s++) {
        e->agent[s] = job->side[s].kind;
        assert(e->agent[s] && e->agent[s]->state_size <= NS_AGENT_STATE_MAX);
        e->agent[s]->begin(e->agent_state[s], n, s);
    }
}

/* The offer a side may accept: the opponent's latest move, if an offer. */
static const ns_turn *standing_offer(const ns_negotiation *n)
{
    if (n->n_turns == 0)
        return NULL;
    const ns_turn *t = &n->turns[n->n_turns - 1];
    return t->action == NS_ACT_OFFER && t->speaker != n->to_move ? t : NULL;
}

static void record_turn(ns_engine *e, const ns_turn *t, const ns_move *mv)
{
    ns_negotiation *n = &e->neg;
    int k = n->n_turns;
    size_t r = ns_block_add_turn(e->blk);
    ns_turn_row *row = &e->blk->turns[r];
    row->job_id = n->job->id;
    row->round = ns_round_of_turn(k);
    row->turn = k;
    memcpy(row->speaker, e->side_field[t->speaker], sizeof row->speaker);
    memcpy(row->action, e->action_field[t->action], sizeof row->action);
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        row->value[i] = i < n->sc->n_issues && t->action != NS_ACT_WALK ? t->value[i] : NAN;
    row->utility[0] = t->utility[0];
    row->utility[1] = t->utility[1];
    if (e->blk->has_llm) {
        /* LLM blocks keep every turn's text whole in the arena (model
         * replies outgrow NS_TEXT_LEN), transcripts on or off: the next
         * prompt quotes them. Their texts[] rows are not used. */
        char buf[NS_TEXT_LEN];
        const char *text = mv->text;
        if (!text) {
            ns_message_render(n, t->speaker, k, mv, buf);
            text = buf;
        }
        size_t len = mv->text ? strlen(text) : strnlen(buf, sizeof buf);
        ns_llm_turn_row *lt = &e->blk->llm_turns[r];
        lt->text_off = ns_block_add_text(e->blk, text, len);
        lt->text_len = (uint32_t)len;
        return;
    }
    if (!e->transcripts)
        return;
    ns_transcript_row *tr = &e->blk->texts[r];
    tr->job_id = n->job->id;
    tr->turn = k;
    memcpy(tr->speaker, e->side_field[t->speaker], sizeof tr->speaker);
    if (mv->text)
        NS_SET(tr->text, mv->text);
    else
        ns_message_render(n, t->speaker, k, mv, tr->text);
}

static void fill_outcome(ns_engine *e)
{
    const ns_negotiation *n = &e->neg;
    ns_outcome_row *o = &e->blk->outcomes[e->row];
    o->job_id = n->job->id;
    o->deal = n->ending == NS_END_AGREEMENT;
    NS_SET(o->ending, ns_ending_names[n->ending]);
    NS_SET(o->closed_by, n->closed_by >= 0 ? ns_side_names[n->closed_by] : "");
    o->turns = n->n_turns;
    o->rounds = n->n_turns ? ns_round_of_turn(n->n_turns - 1) : 0;
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        o->value[i] = NAN;
    if (!o->deal) {
        o->pareto_distance = o->nash_distance = NAN;
        o->surplus_share[0] = o->surplus_share[1] = NAN;
        return;
    }
    const ns_turn *agreed = &n->turns[n->n_turns - 1];
    memcpy(o->value, agreed->value, sizeof(double) * (size_t)n->sc->n_issues);
    double ub = agreed->utility[0], us = agreed->utility[1];
    o->utility[0] = ub;
    o->utility[1] = us;
    o->joint_utility = ub + us;
    o->nash_product = ub * us;
    const ns_frontier *f = n->sc->frontier;
    o->pareto_distance = ns_frontier_distance(f, ub, us);
    o->nash_distance = f && f->nash >= 0
                           ? hypot(ub - f->u[0][f->nash], us - f->u[1][f->nash])
                           : NAN;
    o->surplus_share[0] = o->joint_utility > 0 ? ub / o->joint_utility : NAN;
    o->surplus_share[1] = o->joint_utility > 0 ? us / o->joint_utility : NAN;
}

static void finish(ns_engine *e, ns_ending ending, int closed_by)
{
    e->neg.ending = ending;
    e->neg.closed_by = closed_by;
    fill_outcome(e);
    set_state(e, NS_NEG_DONE);
}

/* Applies a decided move: validates it against the protocol, records it,
 * and advances or ends the negotiation. */
static void apply_move(ns_engine *e, ns_move *mv)
{
    ns_negotiation *n = &e->neg;
    const ns_scenario *sc = n->sc;
    int side = n->to_move;
    if (mv->failure != NS_MOVE_OK)
        return finish(e, mv->failure == NS_MOVE_INVALID ? NS_END_INVALID : NS_END_ERROR,
                      side);
    const ns_turn *standing = standing_offer(n);
    /* Accepting with nothing on the table breaks the protocol; an agent
     * that does so (only an LLM could) is taken to have left the table. */
    if (mv->action == NS_ACT_ACCEPT && !standing)
        mv->action = NS_ACT_WALK;
    ns_turn *t = &n->turns[n->n_turns];
    t->speaker = side;
    t->action = mv->action;
    if (mv->action == NS_ACT_ACCEPT) {
        memcpy(t->value, standing->value, sizeof t->value);
        memcpy(mv->value, standing->value, sizeof mv->value);
    } else if (mv->action == NS_ACT_OFFER) {
        for (int i = 0; i < sc->n_issues; i++)
            t->value[i] = ns_issue_snap(&sc->issue[i], mv->value[i]);
        memcpy(mv->value, t->value, sizeof mv->value);
    }
    if (mv->action == NS_ACT_WALK) {
        t->utility[0] = t->utility[1] = 0;
    } else {
        t->utility[0] = ns_scenario_utility(sc, NS_BUYER, t->value);
        t->utility[1] = ns_scenario_utility(sc, NS_SELLER, t->value);
    }
    record_turn(e, t, mv);
    if (e->blk->has_llm && mv->llm) {
        /* the agent's account of the call; the text fields are the engine's */
        ns_llm_turn_row *lt = &e->blk->llm_turns[e->blk->n_turns - 1];
        uint32_t off = lt->text_off, len = lt->text_len;
        *lt = *mv->llm;
        lt->text_off = off;
        lt->text_len = len;
    }
    n->n_turns++;
    if (mv->action == NS_ACT_ACCEPT)
        return finish(e, NS_END_AGREEMENT, side);
    if (mv->action == NS_ACT_WALK)
        return finish(e, NS_END_WALKAWAY, side);
    n->last_offer[side] = n->n_turns - 1;
    if (n->n_turns >= n->max_turns)
        return finish(e, NS_END_IMPASSE, -1);
    n->to_move = 1 - side;
    set_state(e, NS_NEG_READY);
}

ns_neg_state ns_engine_step(ns_engine *e)
{
    ns_negotiation *n = &e->neg;
    if (n->state == NS_NEG_DONE)
        return n->state;
    ns_move mv;
    mv.text = NULL;
    mv.failure = NS_MOVE_OK;
    mv.llm = NULL;
    int side = n->to_move;
    if (e->agent[side]->decide(e->agent_state[side], n, &mv) == NS_AGENT_PENDING) {
        set_state(e, NS_NEG_WAITING);
        return n->state;
    }
    apply_move(e, &mv);
    return n->state;
}

void ns_engine_run(ns_engine *e, const ns_job *job, ns_block *blk)
{
    ns_engine_start(e, job, blk);
    while (ns_engine_step(e) == NS_NEG_READY)
        ;
    /* synchronous agents never leave a negotiation waiting */
    assert(e->neg.state == NS_NEG_DONE);
}
