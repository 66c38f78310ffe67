/*
 * ns_message.h - message texts for moves of agents that do not write their
 * own (the built-in agents), so offline runs have transcripts too.
 *
 * A message is: an opener phrase of the speaker's influence technique or
 * tactic (from the catalogue, chosen by turn), then the move: "I can do
 * 12,400 EUR, delivery in 3 weeks and 24 months warranty." for an offer,
 * an acceptance line, or a walk-away line. Issue fragments come from each
 * issue's `phrase` template. Numbers are formatted with thousands
 * separators and the decimals. Rendering never allocates and
 * always NUL-terminates and zero-pads the NS_TEXT_LEN buffer.
 */
#ifndef NS_MESSAGE_H
#define NS_MESSAGE_H

#include "ns_agent.h"
#include "ns_engine.h"

/* Renders the message for `move` by `side` at turn `turn` into out. */
void ns_message_render(const ns_negotiation *neg, int side, int turn,
                       const ns_move *move, char out[NS_TEXT_LEN]);

/* Formats v with `decimals` digits and thousands separators ("12,400.5");
 * returns the length written (out needs 32 bytes). */
int ns_format_number(double v, int decimals, char *out);

#endif
