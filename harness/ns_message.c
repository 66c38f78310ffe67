/*
 * ns_message.c - transcript texts for moves without their own text (the
 * built-in agent's), rendered straight into the NS_TEXT_LEN row buffer.
 *
 * Shapes (opener only on offers; see ns_message.h):
 *   [opener ]My opening offer: <fragments>.      the side's first offer
 *   [opener ]I can do <fragments>.               later offers
 *   Deal: <fragments>. Let's shake on it.        accept
 *   This is not going anywhere for me. I'm walking away.
 * Fragments are each issue's phrase template with {value} and {unit}
 * filled in, joined "a, b, c and d". The opener is a phrase of the
 * speaker's influence technique, else of its tactic, picked by the
 * speaker's own move number so that it varies along the transcript.
 *
 * This runs for every turn of every job (millions of times a second), so
 * it writes through a bounded writer straight into the output buffer: no
 * allocation, no snprintf, numbers converted digit by digit, text copied
 * in whole words. The templates are compiled once, when the scenario is
 * loaded (ns_scenario_compile): each issue's phrase as the pieces of text
 * around its values, the unit filled in, and for the usual shape the
 * whole offer body as constant runs between the values; rendering only
 * copies those and the values. Output is cut at NS_TEXT_LEN - 1 bytes on
 * a UTF-8 character boundary and the rest of the buffer is zeroed,
 * because rows are compared byte for byte.
 */
#include "ns_message.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Bounded appender: never writes at or past `end` (the last byte of the
 * buffer, kept for the NUL). Bytes between p and end may hold scratch from
 * the word copies below until finish() zeroes them. */
typedef struct writer {
    char *start, *p, *end;
    int truncated;
} writer;

static inline __attribute__((always_inline)) void put(writer *w, const char *s, size_t n)
{
    size_t room = (size_t)(w->end - w->p);
    if (n <= room) {
        memcpy(w->p, s, n); /* constant n (literals): inlined, no call */
        w->p += n;
    } else {
        memcpy(w->p, s, room);
        w->p += room;
        w->truncated = 1;
    }
}
#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* Copying a NUL-terminated string eight bytes at a time. The strings
 * copied this way (openers) live in fixed-size arrays, so reading a whole
 * word up to the array's end is always in bounds; bytes after the NUL
 * never change where the copy stops (only the lowest match counts), and
 * the loaders zero-fill these arrays, so valgrind has nothing to flag
 * either. A byte-at-a-time loop spent much of the render time here. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* High bit set in each zero byte of x (exact for the lowest one, which is
 * all we use). */
static inline uint64_t zero_bytes(uint64_t x) { return (x - ONES) & ~x & HIGHS; }

/* Copies the string s, held in an array of `size` bytes, up to its NUL
 * or as much as fits. */
static inline __attribute__((always_inline)) void put_array(writer *w, const char *s,
                                                            size_t size)
{
    const char *p = s, *limit = s + size;
    char *q = w->p;
    /* a local copy: the byte stores below may alias *w as far as the
     * compiler knows, which would reload w->end on every word */
    char *const end = w->end;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (limit - p >= 8 && end - q >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        memcpy(q, &x, 8);
        uint64_t m = zero_bytes(x);
        if (m) {
            w->p = q + (__builtin_ctzll(m) >> 3); /* little endian: lowest = first */
            return;
        }
        p += 8;
        q += 8;
    }
#endif
    while (p < limit && *p) {
        if (q == end) {
            w->truncated = 1;
            break;
        }
        *q++ = *p++;
    }
    w->p = q;
}

/* ----------------------------------------------------------------- numbers */

static const double pow10_table[10] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                       1e5, 1e6, 1e7, 1e8, 1e9};

static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull,
    10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
    10000000000000000000ull,
};

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes the digits of x backwards ending just before `end`; returns the
 * first digit's address. Two digits per division: the divisions are the
 * cost here. */
static char *digits_backward(uint64_t x, char *end)
{
    while (x >= 100) {
        unsigned d = (unsigned)(x % 100);
        x /= 100;
        *--end = digit_pairs[2 * d + 1];
        *--end = digit_pairs[2 * d];
    }
    if (x >= 10) {
        *--end = digit_pairs[2 * x + 1];
        *--end = digit_pairs[2 * x];
    } else {
        *--end = (char)('0' + x);
    }
    return end;
}

int ns_format_number(double v, int decimals, char *out)
{
    if (isnan(v)) {
        memcpy(out, "n/a", 4);
        return 3;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double scaled = fabs(v) * pow10_table[decimals];
    /* Beyond 2^63 the digits no longer fit a uint64_t; such numbers never
     * occur in a scenario, so a plain %g is good enough (and stays under
     * the 32 bytes promised). */
    if (!(scaled < 9.2e18))
        return snprintf(out, 32, "%.6g", v);
    /* Round half away from zero, exactly: scaled - trunc(scaled) is exact
     * in binary, where scaled + 0.5 could round up a value just below .5. */
    uint64_t x = (uint64_t)scaled;
    if (scaled - (double)x >= 0.5)
        x++;
    int neg = v < 0 && x != 0; /* no "-0" */
    uint64_t ip = x;
    for (int d = 0; d < decimals; d++)
        ip /= 10;
    /* Length first, then digits written backwards straight into out: no
     * scratch buffer and no variable-length copy. */
    int ndig = 1;
    while (ndig < 20 && ip >= pow10_u64[ndig])
        ndig++;
    int n = neg + ndig + (ndig - 1) / 3 + (decimals ? decimals + 1 : 0);
    char *p = out + n;
    *p = '\0';
    if (decimals) {
        /* constant divisor: the compiler turns it into a multiplication */
        for (int d = 0; d < decimals; d++, x /= 10)
            *--p = (char)('0' + x % 10);
        *--p = '.';
    }
    /* integer part in groups of three, separated by commas */
    while (ip >= 1000) {
        unsigned g = (unsigned)(ip % 1000);
        ip /= 1000;
        p -= 3;
        p[0] = (char)('0' + g / 100);
        p[1] = digit_pairs[2 * (g % 100)];
        p[2] = digit_pairs[2 * (g % 100) + 1];
        *--p = ',';
    }
    p = digits_backward(ip, p);
    if (neg)
        *--p = '-';
    return n;
}

/* --------------------------------------------------------------- fragments */

/* Numbers already formatted, per thread: offers are snapped to each
 * issue's grid, so the same few hundred values come back turn after turn,
 * and a lookup costs a fraction of ns_format_number. The text is a pure
 * function of (value bits, decimals), both of which are the key, so a hit
 * gives the same bytes a fresh call would, and nothing in it can go stale.
 * Kept because it pays: without it `bench engine_1t` measured about 15%
 * slower (the values are not known at load, so this cannot move into the
 * scenario as the templates did). */
#define NUM_MEMO_BITS 9
typedef struct num_memo {
    uint64_t bits;    /* the value's bit pattern */
    int32_t decimals; /* as passed (ns_format_number clamps it itself) */
    uint8_t len;      /* 0: empty slot (a number is never 0 bytes) */
    char text[19];    /* not NUL-terminated; longer numbers are not kept */
} num_memo;
_Static_assert(sizeof(num_memo) == 32, "two memo entries per cache line");

static _Thread_local num_memo num_memo_tab[1u << NUM_MEMO_BITS];

static inline num_memo *num_memo_slot(uint64_t bits, int decimals)
{
    uint64_t h = (bits + (uint64_t)(uint32_t)decimals) * 0x9E3779B97F4A7C15ull;
    return &num_memo_tab[h >> (64 - NUM_MEMO_BITS)];
}

static inline __attribute__((always_inline)) void put_number(writer *w, double v,
                                                             int decimals)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    num_memo *e = num_memo_slot(bits, decimals);
    int room = w->end - w->p >= 32;
    if (e->len && e->bits == bits && e->decimals == decimals) {
        if (room) {
            memcpy(w->p, e->text, sizeof e->text); /* bytes past len: scratch */
            w->p += e->len;
        } else {
            put(w, e->text, e->len);
        }
        return;
    }
    /* Straight into the output when 32 bytes are free (its NUL is
     * overwritten or zeroed later): formatting into a scratch buffer and
     * copying it stalled on reading back bytes just written one by one. */
    char buf[32], *dst = room ? w->p : buf;
    int n = ns_format_number(v, decimals, dst);
    if (n <= (int)sizeof e->text) {
        e->bits = bits;
        e->decimals = decimals;
        e->len = (uint8_t)n;
        memset(e->text, 0, sizeof e->text);
        memcpy(e->text, dst, (size_t)n);
    }
    if (room)
        w->p += n;
    else
        put(w, buf, (size_t)n);
}

/* put() of n bytes of s, where s may be read 32 bytes on (the compiled
 * texts of ns_scenario.h, option names): one fixed-size copy when it fits. */
static inline __attribute__((always_inline)) void put_text(writer *w, const char *s,
                                                           size_t n)
{
    if (n <= 32 && w->end - w->p >= 32) {
        memcpy(w->p, s, 32); /* bytes past n: scratch, zeroed by finish() */
        w->p += n;
    } else {
        put(w, s, n);
    }
}

_Static_assert(NS_NAME_LEN == 32 && NS_TEXT_SLACK >= 64,
               "put_text reads 32 bytes of an option name, put_run 64 of a text");

static inline __attribute__((always_inline)) void put_value(writer *w, const ns_issue *is, double v)
{
    if (is->type == NS_ISSUE_DISCRETE) {
        /* the range test first: it also rejects NaN, and keeps the cast
         * of a huge value from being undefined */
        if (!(v > -0.5 && v < is->n_options - 0.5)) {
            PUT_LIT(w, "?");
        } else {
            int k = (int)(v + 0.5);
            put_text(w, is->options[k], is->option_len[k]);
        }
        return;
    }
    put_number(w, v, is->decimals);
}

/* One issue's phrase from its compiled pieces (ns_scenario.h). Once the
 * text is cut, p stays at the end and nothing more is written, so only a
 * blank to drop needs a check. */
static void put_fragment(writer *w, const ns_issue *is, double v)
{
    const char *begin = w->p; /* only this fragment's own blank is dropped */
    put_text(w, is->text + is->piece_off[0], is->piece_len[0]);
    for (int k = 0; k < is->n_values; k++) {
        put_value(w, is, v);
        for (int d = is->drops[k]; d > 0 && !w->truncated; d--)
            if (w->p > begin && w->p[-1] == ' ')
                w->p--;
        put_text(w, is->text + is->piece_off[k + 1], is->piece_len[k + 1]);
    }
}

/* Run k of the scenario's compiled offer body: put() of it, one
 * fixed-size copy when 64 bytes are free. */
static inline __attribute__((always_inline)) void put_run(writer *w, const ns_scenario *sc,
                                                          int k)
{
    if (sc->body_len[k] <= 64 && w->end - w->p >= 64) {
        memcpy(w->p, sc->body + sc->body_off[k], 64); /* bytes past len: scratch */
        w->p += sc->body_len[k];
    } else {
        put(w, sc->body + sc->body_off[k], sc->body_len[k]);
    }
}

/* The fragments joined "a, b, c and d". A run of the compiled body is
 * put() whole, so where the text is cut, and whether, is the same as when
 * its pieces are put one by one; and with no blank to drop, nothing is
 * written after a cut either way. */
static void put_fragments(writer *out, const ns_scenario *sc, const double *v)
{
    /* Work on a local copy (everything below is inlined into this loop):
     * through the pointer, every byte stored would make the compiler
     * reload the writer, since a char store may alias it. */
    writer lw = *out, *w = &lw;
    int n = sc->n_issues;
    if (sc->body_plain) {
        for (int i = 0; i < n; i++) {
            put_run(w, sc, i);
            put_value(w, &sc->issue[i], v[i]);
        }
        put_run(w, sc, n);
    } else {
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                if (i == n - 1)
                    PUT_LIT(w, " and ");
                else
                    PUT_LIT(w, ", ");
            }
            put_fragment(w, &sc->issue[i], v[i]);
        }
    }
    *out = lw;
}

/* ------------------------------------------------------------------ moves */

_Static_assert(NS_MAX_PHRASES == 4, "put_offer picks phrases by mask or modulo 3");

/* The technique whose phrases open the speaker's offers: its influence
 * technique, else its tactic; NULL when neither has phrases ("none"). */
static const ns_technique *opener(const ns_negotiation *neg, int side)
{
    const ns_side_setup *ss = &neg->job->side[side];
    const ns_technique *t = ns_catalog_technique(neg->cat, NS_INFLUENCE, ss->influence);
    if (!t || t->n_phrases == 0)
        t = ns_catalog_technique(neg->cat, NS_TACTIC, ss->tactic);
    return t && t->n_phrases > 0 ? t : NULL;
}

static void put_offer(writer *w, const ns_negotiation *neg, int side, int turn,
                      const ns_move *move)
{
    /* After an opener ending in a comma (or a word) the sentence goes on
     * in lower case; after ".", "!", "?" or ":" a new one starts. */
    int capital = 1;
    const ns_technique *t = opener(neg, side);
    if (t) {
        /* (turn / 2) % n_phrases, with n_phrases in 1..4: a mask or a
         * modulo by the constant 3, where a division by a variable cost
         * more than the rest of the opener */
        unsigned k = (unsigned)turn >> 1, n = (unsigned)t->n_phrases;
        k = n == 3 ? k % 3 : k & (n - 1);
        const char *op = t->phrases[k];
        put_array(w, op, sizeof t->phrases[0]);
        if (w->p > w->start) {
            char last = w->p[-1];
            capital = last == '.' || last == '!' || last == '?' || last == ':';
        }
        PUT_LIT(w, " ");
    }
    /* Turns alternate and only offers continue a negotiation, so a side's
     * first offer is turn 0 or 1. */
    if (turn < 2) {
        if (capital)
            PUT_LIT(w, "My opening offer: ");
        else
            PUT_LIT(w, "my opening offer: ");
    } else {
        PUT_LIT(w, "I can do ");
    }
    put_fragments(w, neg->sc, move->value);
    PUT_LIT(w, ".");
}

/* Cuts a truncated text back to a whole UTF-8 character, then NUL-pads the
 * rest of the buffer. */
static void finish(writer *w, char *out)
{
    if (w->truncated) {
        char *q = w->p;
        int cont = 0;
        while (q > out && cont < 3 && ((unsigned char)q[-1] & 0xC0) == 0x80) {
            q--;
            cont++;
        }
        if (q > out) {
            unsigned char lead = (unsigned char)q[-1];
            int need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
            if (need > cont)
                w->p = q - 1; /* drop the incomplete character */
        }
    }
    memset(w->p, 0, (size_t)(out + NS_TEXT_LEN - w->p));
}

void ns_message_render(const ns_negotiation *neg, int side, int turn,
                       const ns_move *move, char out[NS_TEXT_LEN])
{
    writer w = {out, out, out + NS_TEXT_LEN - 1, 0};
    if (move->text) {
        put(&w, move->text, strlen(move->text));
    } else {
        switch (move->action) {
        case NS_ACT_OFFER:
            put_offer(&w, neg, side, turn, move);
            break;
        case NS_ACT_ACCEPT:
            PUT_LIT(&w, "Deal: ");
            put_fragments(&w, neg->sc, move->value);
            PUT_LIT(&w, ". Let's shake on it.");
            break;
        case NS_ACT_WALK:
            PUT_LIT(&w, "This is not going anywhere for me. I'm walking away.");
            break;
        }
    }
    finish(&w, out);
}
