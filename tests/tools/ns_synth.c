/*
 * ns_synth.c - a synthetic sweep with planted effects, for testing analyze
 * and compare against a known truth (tests/t_planted.sh).
 *
 *   ns_synth SPEC --out FILE [--seed S] [--effect E] [--tactic NAME]
 *            [--coef C] [--noise SD] [--deal-rate P] [--joint-spread W]
 *
 * It loads SPEC and walks its job grid with ns_spec_job exactly as a run
 * does, so the jobs table (ids, axis labels, traits, seeds) is the real
 * one, but instead of negotiating it draws each job's outcome from a
 * stated model and writes the rows through the real store (ns_store_*), so
 * FILE is a complete results file that analyze and compare read like any
 * other. The model, per job, from a gsl_rng_mt19937 seeded with
 * ns_job_seed(S, job id) (so a job's outcome depends on S and its id
 * only):
 *
 *   deal          ~ Bernoulli(P)                              (default 0.8)
 *   buyer share   = 0.45 + E [buyer tactic == NAME]
 *                        + C (buyer agreeableness - 0.5) + N(0, SD^2)
 *                   clamped to [0.01, 0.99] (never reached with sane E, C)
 *   seller share  = 1 - buyer share
 *   joint utility ~ U(1, 1 + W); u_side = share_side x joint  (W 0.4)
 *   rounds        = 1 + Binomial(max_rounds - 1, 1/2) for a deal;
 *                   max_rounds for an impasse (no deal)
 * Defaults: E 0.10, C 0.10, SD 0.05, S 1, NAME the first buyer tactic of
 * the spec other than none. Nothing else (seller side, other traits,
 * influence) has any effect, so every other difference is noise. With
 * P = 1 and W = 0 a side's utility equals its surplus share, so an effect
 * on the share is the same effect on own utility.
 *
 * Each job also gets its /rounds rows: the sides alternate offers from
 * the opener on (buyer share 0.9 from the buyer, 0.1 from the seller),
 * each moving linearly toward the agreed split; the opener's last offer
 * is the agreement and the other side accepts it in round `rounds`. An
 * impasse stops both sides a third of the way. Offers are points in
 * utility space only: issue values are NaN (the outcome's too), and the
 * Pareto and Nash distances are measured from those utilities against
 * the scenario's real frontier. The spec should have transcripts off.
 *
 * Exit status as negsim's: 0 done, 2 usage or input error, 1 otherwise.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "ns_catalog.h"
#include "ns_engine.h"
#include "ns_frontier.h"
#include "ns_record.h"
#include "ns_spec.h"
#include "ns_store.h"

#define BLOCK_IDS 1024 /* grid ids per block handed to the store */

typedef struct synth_opt {
    const char *spec, *out, *tactic;
    unsigned long long seed;
    double effect, coef, noise, deal_rate, joint_spread;
} synth_opt;

static const char usage[] =
    "Usage: ns_synth SPEC --out FILE [OPTION]...\n"
    "Write a results file for SPEC's job grid with synthetic outcomes:\n"
    "buyer surplus share = 0.45 + EFFECT [buyer tactic == TACTIC]\n"
    "                      + COEF (buyer agreeableness - 0.5) + N(0, NOISE^2).\n"
    "\n"
    "  -o, --out FILE       results file to write (replaced)\n"
    "  -s, --seed S         outcome seed (default 1)\n"
    "  -e, --effect E       planted tactic effect on the share (default 0.10)\n"
    "  -t, --tactic NAME    the buyer tactic that gets it (default: the first\n"
    "                       of the spec's buyer tactics other than none)\n"
    "  -c, --coef C         planted agreeableness coefficient (default 0.10)\n"
    "  -n, --noise SD       share noise standard deviation (default 0.05)\n"
    "  -d, --deal-rate P    probability of a deal (default 0.8)\n"
    "  -w, --joint-spread W joint utility ~ U(1, 1 + W) (default 0.4)\n"
    "  -h, --help           display this help and exit\n";

/* ---- the outcome model ------------------------------------------------- */

typedef struct synth {
    const synth_opt *opt;
    const ns_spec *spec;
    const ns_catalog *cat;
    gsl_rng *rng;
    int max_rounds;
} synth;

/* One offer (or accept) at buyer fraction x of the joint utility j. */
static void add_turn(ns_block *blk, uint64_t id, int k, int speaker, const char *action, double x,
                     double j)
{
    size_t r = ns_block_add_turn(blk); /* may move blk->turns: index after */
    ns_turn_row *t = &blk->turns[r];
    memset(t, 0, sizeof *t);
    t->job_id = id;
    t->round = ns_round_of_turn(k);
    t->turn = k;
    NS_SET(t->speaker, ns_side_names[speaker]);
    NS_SET(t->action, action);
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        t->value[i] = NAN;
    t->utility[0] = x * j;
    t->utility[1] = (1.0 - x) * j;
}

/* The offers of a job that ends after `rounds` rounds: each side moves
 * from its opening (buyer fraction 0.9 for the buyer, 0.1 for the seller)
 * toward `target`; the opener's last offer reaches it, the other side's
 * stop one step short. With `accept` the other side accepts in the last
 * turn; without, both only get a third of the way (an impasse). */
static void add_turns(ns_block *blk, uint64_t id, int opener, int rounds, double target,
                      double j, int accept)
{
    const double open[2] = {0.9, 0.1};
    int n_turns = 2 * rounds, offers[2] = {0, 0};
    int total[2] = {rounds, accept ? rounds - 1 : rounds}; /* offers per role */
    for (int k = 0; k < n_turns; k++) {
        int role = k % 2; /* 0 opener, 1 the other side */
        int side = role == 0 ? opener : 1 - opener;
        if (accept && k == n_turns - 1) {
            add_turn(blk, id, k, side, "accept", target, j);
            break;
        }
        offers[role]++;
        double step = accept ? (double)offers[role] / (double)(total[role] + role)
                             : (double)offers[role] / (3.0 * total[role]);
        double x = open[side] + (target - open[side]) * step;
        add_turn(blk, id, k, side, "offer", x, j);
    }
}

static void add_job(synth *s, const ns_job *job, ns_block *blk)
{
    const synth_opt *o = s->opt;
    size_t r = ns_block_add_job(blk);
    ns_job_row *jr = &blk->jobs[r];
    ns_outcome_row *out = &blk->outcomes[r];
    memset(jr, 0, sizeof *jr);
    memset(out, 0, sizeof *out);

    /* the jobs row, as ns_engine.c fills it */
    jr->job_id = job->id;
    jr->seed = job->seed;
    jr->repetition = job->repetition;
    jr->scenario_index = job->scenario_index;
    NS_SET(jr->scenario, job->sc->name);
    NS_SET(jr->opener, ns_side_names[job->opener]);
    for (int side = 0; side < 2; side++) {
        const ns_side_setup *ss = &job->side[side];
        NS_SET(jr->agent[side], ss->agent);
        NS_SET(jr->personality[side], ss->personality);
        memcpy(jr->trait[side], ss->trait, sizeof jr->trait[side]);
        NS_SET(jr->tactic[side], ns_catalog_technique(s->cat, NS_TACTIC, ss->tactic)->name);
        NS_SET(jr->influence[side],
               ns_catalog_technique(s->cat, NS_INFLUENCE, ss->influence)->name);
    }

    /* the outcome, drawn in a fixed order from the job's own stream */
    gsl_rng_set(s->rng, ns_job_seed(o->seed, job->id));
    int deal = gsl_rng_uniform(s->rng) < o->deal_rate;
    double share = 0.45 + (strcmp(jr->tactic[NS_BUYER], o->tactic) == 0 ? o->effect : 0.0) +
                   o->coef * (job->side[NS_BUYER].trait[NS_A] - 0.5) +
                   gsl_ran_gaussian(s->rng, o->noise);
    share = share < 0.01 ? 0.01 : share > 0.99 ? 0.99 : share;
    double joint = 1.0 + o->joint_spread * gsl_rng_uniform(s->rng);
    int rounds = deal ? 1 + (int)gsl_ran_binomial(s->rng, 0.5, (unsigned)(s->max_rounds - 1))
                      : s->max_rounds;

    out->job_id = job->id;
    out->deal = (int8_t)deal;
    out->rounds = rounds;
    out->turns = 2 * rounds;
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        out->value[i] = NAN;
    if (deal) {
        NS_SET(out->ending, "agreement");
        NS_SET(out->closed_by, ns_side_names[1 - job->opener]);
        double ub = share * joint, us = (1.0 - share) * joint;
        const ns_frontier *f = job->sc->frontier;
        out->utility[0] = ub;
        out->utility[1] = us;
        out->joint_utility = ub + us;
        out->nash_product = ub * us;
        out->pareto_distance = ns_frontier_distance(f, ub, us);
        out->nash_distance =
            f && f->nash >= 0 ? hypot(ub - f->u[0][f->nash], us - f->u[1][f->nash]) : NAN;
        out->surplus_share[0] = ub / out->joint_utility;
        out->surplus_share[1] = us / out->joint_utility;
    } else {
        NS_SET(out->ending, "impasse");
        NS_SET(out->closed_by, "");
        out->pareto_distance = out->nash_distance = NAN;
        out->surplus_share[0] = out->surplus_share[1] = NAN;
    }
    add_turns(blk, job->id, job->opener, rounds, share, joint, deal);
}

/* ---- the run ----------------------------------------------------------- */

/* The buyer tactic levels of the spec: checks --tactic, or picks it. */
static ns_status choose_tactic(const ns_spec *spec, synth_opt *o, char *buf, size_t size,
                               ns_error *err)
{
    for (int a = 0; a < ns_spec_axis_count(spec); a++) {
        ns_axis_info ax = ns_spec_axis(spec, a);
        if (strcmp(ax.name, "buyer.tactic") != 0)
            continue;
        for (uint64_t l = 0; l < ax.n_levels; l++) {
            const char *name = ns_spec_axis_level(spec, a, l, buf, size);
            if (o->tactic ? strcmp(name, o->tactic) == 0 : strcmp(name, "none") != 0) {
                o->tactic = name; /* buf */
                return NS_OK;
            }
        }
    }
    if (o->tactic)
        return ns_fail(err, NS_ERR_USAGE, "--tactic %s is not one of %s's buyer tactics",
                       o->tactic, o->spec);
    return ns_fail(err, NS_ERR_USAGE, "%s has no buyer tactic other than none", o->spec);
}

static ns_status synth_run(synth_opt *o, ns_error *err)
{
    ns_spec *spec = NULL;
    ns_status st = ns_spec_load(o->spec, NULL, &spec, err);
    if (st)
        return st;
    char tactic[NS_NAME_LEN + 64];
    if ((st = choose_tactic(spec, o, tactic, sizeof tactic, err))) {
        ns_spec_free(spec);
        return st;
    }
    synth s = {.opt = o, .spec = spec, .cat = ns_spec_catalog(spec),
               .rng = gsl_rng_alloc(gsl_rng_mt19937), .max_rounds = ns_spec_max_rounds(spec)};
    ns_store *store = NULL;
    if (!s.rng)
        st = ns_fail(err, NS_ERR_NOMEM, "gsl_rng_alloc failed");
    if (!st)
        st = ns_store_create(o->out, spec, &store, err);
    ns_block blk;
    ns_block_init(&blk);
    ns_run_progress p = {.state = "complete", .jobs_planned = ns_spec_job_count(spec),
                         .threads = 1};
    uint64_t grid = ns_spec_grid_size(spec);
    for (uint64_t first = 0; !st && first < grid; first += BLOCK_IDS) {
        uint64_t end = grid - first < BLOCK_IDS ? grid : first + BLOCK_IDS;
        ns_block_reset(&blk, first, end);
        ns_job job;
        for (uint64_t id = first; id < end; id++)
            if (ns_spec_job(spec, id, &job))
                add_job(&s, &job, &blk);
        st = ns_store_append(store, &blk, err);
        p.jobs_done += blk.n_jobs;
        p.next_index = end;
    }
    if (store) {
        if (!st)
            st = ns_store_close(store, &p, err);
        else
            ns_store_abandon(store);
    }
    if (st && store)
        unlink(o->out); /* never leave a half-written file that looks whole */
    ns_block_free(&blk);
    gsl_rng_free(s.rng);
    ns_spec_free(spec);
    return st;
}

/* ---- the command line ---------------------------------------------------- */

static int parse_double(const char *arg, const char *name, double lo, double hi, double *v)
{
    char *end;
    *v = strtod(arg, &end);
    if (*arg && !*end && *v >= lo && *v <= hi)
        return 1;
    fprintf(stderr, "ns_synth: invalid %s '%s' (expected a number in [%g, %g])\n", name, arg,
            lo, hi);
    return 0;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},    {"seed", required_argument, NULL, 's'},
        {"effect", required_argument, NULL, 'e'}, {"tactic", required_argument, NULL, 't'},
        {"coef", required_argument, NULL, 'c'},   {"noise", required_argument, NULL, 'n'},
        {"deal-rate", required_argument, NULL, 'd'}, {"joint-spread", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    synth_opt o = {.seed = 1, .effect = 0.10, .coef = 0.10, .noise = 0.05, .deal_rate = 0.8,
                   .joint_spread = 0.4};
    int c, ok = 1;
    while (ok && (c = getopt_long(argc, argv, "o:s:e:t:c:n:d:w:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': o.out = optarg; break;
        case 't': o.tactic = optarg; break;
        case 's':
            o.seed = strtoull(optarg, &end, 10);
            ok = *optarg && *optarg != '-' && !*end;
            if (!ok)
                fprintf(stderr, "ns_synth: invalid --seed '%s'\n", optarg);
            break;
        case 'e': ok = parse_double(optarg, "--effect", -0.4, 0.4, &o.effect); break;
        case 'c': ok = parse_double(optarg, "--coef", -0.8, 0.8, &o.coef); break;
        case 'n': ok = parse_double(optarg, "--noise", 0.0, 0.2, &o.noise); break;
        case 'd': ok = parse_double(optarg, "--deal-rate", 0.0, 1.0, &o.deal_rate); break;
        case 'w': ok = parse_double(optarg, "--joint-spread", 0.0, 1.0, &o.joint_spread); break;
        case 'h': fputs(usage, stdout); return 0;
        default: ok = 0; break;
        }
    }
    if (ok && (optind != argc - 1 || !o.out)) {
        fprintf(stderr, "ns_synth: %s\n",
                optind != argc - 1 ? "expected one SPEC" : "--out is required");
        ok = 0;
    }
    if (!ok) {
        fputs("Try 'ns_synth --help' for more information.\n", stderr);
        return 2;
    }
    o.spec = argv[optind];
    ns_error err = {0};
    ns_status st = synth_run(&o, &err);
    if (st) {
        fprintf(stderr, "ns_synth: %s\n", err.msg[0] ? err.msg : ns_status_str(st));
        return ns_status_exit_code(st);
    }
    return 0;
}
