/*
 * ns_frontier.h - the Pareto frontier of a scenario's agreement space, and
 * its Nash bargaining and Kalai-Smorodinsky points, as NegMAS and GENIUS
 * define them.
 *
 * The outcome space is discretised: each continuous issue takes
 * `resolution` evenly spaced values over the part of its range acceptable
 * to both sides (its ZOPA), integer issues take every integer there when
 * that is fewer points, discrete issues take their options acceptable to
 * both. Because utilities are additive, an outcome can only be Pareto
 * optimal if its restriction to any subset of issues is, so the frontier is
 * built issue by issue, pruning dominated partial outcomes after each one;
 * this is exact and stays far below the size of the full product.
 *
 * Disagreement utility is 0 for both sides (see ns_scenario.h).
 *   Nash point: the frontier point maximising u_b * u_s.
 *   Kalai-Smorodinsky: the frontier point maximising min(u_b/best_b,
 *   u_s/best_s), where best_s is the side's highest utility on the frontier
 *   (ties broken by the larger sum).
 */
#ifndef NS_FRONTIER_H
#define NS_FRONTIER_H

#include "ns_scenario.h"

typedef struct ns_frontier {
    int n;              /* frontier points, sorted by buyer utility ascending */
    int n_issues;
    double *u[2];       /* u[side][k]: utilities of point k */
    double *values;     /* values[k * n_issues + i]: issue values of point k */
    int nash;           /* index of the Nash point, -1 when the ZOPA is empty */
    int ks;             /* index of the Kalai-Smorodinsky point, or -1 */
    double n_outcomes;  /* size of the full discretised agreement space */
    int resolution;     /* points per continuous issue used */
} ns_frontier;

/* Computes the frontier of sc at the given resolution (>= 2). An empty
 * ZOPA gives an empty frontier (n = 0, nash = ks = -1), not an error. */
ns_status ns_frontier_compute(const ns_scenario *sc, int resolution,
                              ns_frontier **out, ns_error *err);
void ns_frontier_free(ns_frontier *f); /* NULL is a no-op */

/* Euclidean distance in utility space from (ub, us) to the nearest
 * frontier point; NAN when the frontier is empty. */
double ns_frontier_distance(const ns_frontier *f, double ub, double us);

#endif
