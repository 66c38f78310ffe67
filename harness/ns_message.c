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
 * in whole words. The scenario has nowhere to keep a parsed form of its
 * templates, so each thread keeps its own (compiled templates, and for a
 * whole offer body a plan of constant runs between the values), plus the
 * numbers it has already formatted. A cache keyed by address alone could
 * go stale when a scenario is freed and another loaded in its place, so
 * every use first compares the template bytes it was built from with the
 * scenario's (a few 16-byte compares); what comes out is byte for byte
 * what the plain scan (put_fragment_scan) writes. Output is cut at
 * NS_TEXT_LEN - 1 bytes on a UTF-8 character boundary and the rest of the
 * buffer is zeroed, because rows are compared byte for byte.
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

/* Copying runs of text eight bytes at a time. The strings rendered here
 * (templates, openers, units, option names) live in fixed-size arrays, so
 * reading a whole word up to the array's end (`limit`) is always in
 * bounds; a run stops at a NUL or at the byte `stop` ('{' in templates).
 * Bytes after the NUL never change where a run stops (only the lowest
 * match counts), and the loaders zero-fill these arrays, so valgrind has
 * nothing to flag either. A byte-at-a-time loop spent most of the render
 * time here. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* High bit set in each zero byte of x (exact for the lowest one, which is
 * all we use). */
static inline uint64_t zero_bytes(uint64_t x) { return (x - ONES) & ~x & HIGHS; }

/* Copies from p up to (not including) the first NUL or `stop` byte, or as
 * much as fits; returns where it stopped in the source. Always inlined:
 * with `stop` and `limit` known at each call site the setup folds away. */
static inline __attribute__((always_inline)) const char *
copy_run(writer *w, const char *p, const char *limit, char stop)
{
    char *q = w->p;
    /* a local copy: the byte stores below may alias *w as far as the
     * compiler knows, which would reload w->end on every word */
    char *const end = w->end;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t stops = ONES * (unsigned char)stop;
    while (limit - p >= 8 && end - q >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        memcpy(q, &x, 8);
        uint64_t m = zero_bytes(x) | zero_bytes(x ^ stops);
        if (m) {
            int k = __builtin_ctzll(m) >> 3; /* little endian: lowest = first */
            w->p = q + k;
            return p + k;
        }
        p += 8;
        q += 8;
    }
#endif
    while (p < limit && *p && *p != stop) {
        if (q == end) {
            w->truncated = 1;
            break;
        }
        *q++ = *p++;
    }
    w->p = q;
    return p;
}

/* A NUL-terminated string held in an array of `size` bytes. */
static inline __attribute__((always_inline)) void put_array(writer *w, const char *s, size_t size)
{
    copy_run(w, s, s + size, '\0');
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
 * gives the same bytes a fresh call would. */
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

static inline __attribute__((always_inline)) void put_value(writer *w, const ns_issue *is, double v)
{
    if (is->type == NS_ISSUE_DISCRETE) {
        /* the range test first: it also rejects NaN, and keeps the cast
         * of a huge value from being undefined */
        if (!(v > -0.5 && v < is->n_options - 0.5))
            PUT_LIT(w, "?");
        else
            put_array(w, is->options[(int)(v + 0.5)], sizeof is->options[0]);
        return;
    }
    put_number(w, v, is->decimals);
}

/* 1 when p begins with lit; stops at p's NUL, so it never reads past the
 * end of the template. */
static inline int starts_with(const char *p, const char *lit)
{
    while (*lit && *p == *lit)
        p++, lit++;
    return *lit == '\0';
}

/* starts_with(p, lit) for a placeholder of at most 8 bytes, as one masked
 * word compare where a whole word of the template (which ends at `limit`)
 * can be read: a byte loop here cost as much as the copying. */
static inline __attribute__((always_inline)) int
at_placeholder(const char *p, const char *limit, const char *lit, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (limit - p >= 8) {
        uint64_t x, want = 0;
        memcpy(&x, p, 8);
        memcpy(&want, lit, n); /* n <= 8, a constant: folds to a constant */
        uint64_t mask = n == 8 ? ~0ull : (1ull << (8 * n)) - 1;
        return ((x ^ want) & mask) == 0;
    }
#endif
    (void)n;
    return starts_with(p, lit);
}
#define AT_PLACEHOLDER(p, limit, lit) at_placeholder((p), (limit), (lit), sizeof(lit) - 1)

/* Padded to the size of ns_issue.phrase, so copy_run may read whole words. */
static const char default_phrase[sizeof((ns_issue *)0)->phrase] = "{value} {unit}";

/* One issue's phrase template, e.g. "delivery in {value} {unit}". An empty
 * unit also drops the blank before it, so "{value} {unit}" with no unit
 * gives "12", not "12 ". Any other brace is copied as it is. */
static void put_fragment_scan(writer *w, const ns_issue *is, double v)
{
    const char *p = is->phrase[0] ? is->phrase : default_phrase;
    const char *limit = p + sizeof is->phrase;
    const char *begin = w->p; /* only this fragment's own blank is dropped */
    for (;;) {
        p = copy_run(w, p, limit, '{');
        if (w->truncated || p == limit || *p == '\0')
            return;
        if (AT_PLACEHOLDER(p, limit, "{value}")) {
            put_value(w, is, v);
            p += 7;
        } else if (AT_PLACEHOLDER(p, limit, "{unit}")) {
            if (is->unit[0])
                put_array(w, is->unit, sizeof is->unit);
            else if (w->p > begin && w->p[-1] == ' ')
                w->p--;
            p += 6;
        } else {
            PUT_LIT(w, "{");
            p++;
        }
    }
}

/* ------------------------------------------------ compiled phrase templates
 *
 * Scanning a template for its placeholders on every message cost more than
 * all the rest of the rendering, so each thread keeps the templates it has
 * met in compiled form: a list of ops over a buffer of literal text, where
 * the unit is already substituted and runs between placeholders are single
 * copies of known length. A compiled template is a function of the
 * phrase and unit bytes alone (the value is rendered from the issue as
 * before), and every use first compares those bytes with the ones it was
 * compiled from; so an issue freed and another loaded at the same address,
 * or a phrase edited in place, is simply compiled again, never rendered
 * from a stale copy. The output is the same byte for byte as the scan's
 * (put_fragment_scan, still used when a template does not fit): same
 * bytes, same truncation point, the same blank dropped. */

enum { OP_LIT, OP_VALUE, OP_DROP_BLANK };

typedef struct frag_op {
    uint16_t kind, off, len; /* off/len: OP_LIT's text */
} frag_op;

/* Literal text: at most 96 template bytes, or 16 units of 15 bytes for 96
 * bytes of "{unit}"; ops: at most 16 placeholders and a literal around each. */
#define FRAG_TEXT_MAX 256
#define FRAG_OPS_MAX 40
#define FRAG_WAYS 4
#define PHRASE_WORDS (sizeof((ns_issue *)0)->phrase / 8)

_Static_assert(sizeof((ns_issue *)0)->phrase % 16 == 0 && sizeof((ns_issue *)0)->unit == 16,
               "phrase and unit are compared in 16-byte blocks");

typedef struct frag_code {
    const ns_issue *is;   /* where it was last seen; NULL: empty slot */
    int phrase_blocks;    /* 16-byte blocks of the phrase up to and with its NUL */
    /* the common shape, [text] {value} [text], without the op loop:
     * simple = 1, pre/post = the texts (len 0: none) */
    int simple;
    uint16_t pre_off, pre_len, post_off, post_len;
    int n_ops;            /* -1: does not fit, scan instead */
    uint64_t unit[2];     /* the unit and phrase bytes it was compiled from */
    uint64_t phrase[PHRASE_WORDS];
    frag_op op[FRAG_OPS_MAX];
    char text[FRAG_TEXT_MAX + 32]; /* zero padded: LIT copies 32 bytes */
} frag_code;

/* Per thread, FRAG_WAYS templates for each issue position. */
static _Thread_local frag_code frag_cache[NS_MAX_ISSUES][FRAG_WAYS];
static _Thread_local unsigned frag_next[NS_MAX_ISSUES];

/* 16-byte blocks compared a block at a time: blk_diff(a, b) is zero where
 * they are equal, and diffs OR together. Vectors (SSE2 on x86-64) where
 * the compiler has them: these checks run for every message. The arrays
 * compared are multiples of 16 bytes, so whole blocks stay inside them. */
#if defined(__GNUC__)
typedef uint64_t blk_acc __attribute__((vector_size(16)));
static inline blk_acc blk_diff(const void *a, const void *b)
{
    blk_acc x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return x ^ y;
}
static inline int blk_is_zero(blk_acc d) { return (d[0] | d[1]) == 0; }
#else
typedef uint64_t blk_acc;
static inline blk_acc blk_diff(const void *a, const void *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    return (x[0] ^ y[0]) | (x[1] ^ y[1]);
}
static inline int blk_is_zero(blk_acc d) { return d == 0; }
#endif

/* Whether is's phrase and unit are those fc was compiled from. Only the
 * bytes up to each string's NUL matter (nothing past it is read): when the
 * blocks holding them match, so does the NUL's position. */
static inline int key_matches(const frag_code *fc, const ns_issue *is)
{
    blk_acc d = blk_diff(is->unit, fc->unit);
    for (int k = 0; k < fc->phrase_blocks; k++)
        d |= blk_diff(is->phrase + 16 * k, &fc->phrase[2 * k]);
    return blk_is_zero(d);
}

static int lit_append(frag_code *fc, int *text_len, const char *s, size_t n)
{
    if (n == 0)
        return 1;
    if ((size_t)*text_len + n > FRAG_TEXT_MAX)
        return 0;
    frag_op *last = fc->n_ops > 0 ? &fc->op[fc->n_ops - 1] : NULL;
    if (!last || last->kind != OP_LIT) {
        if (fc->n_ops == FRAG_OPS_MAX)
            return 0;
        last = &fc->op[fc->n_ops++];
        last->kind = OP_LIT;
        last->off = (uint16_t)*text_len;
        last->len = 0;
    }
    memcpy(fc->text + *text_len, s, n);
    *text_len += (int)n;
    last->len = (uint16_t)(last->len + n);
    return 1;
}

static int op_append(frag_code *fc, int kind)
{
    if (fc->n_ops == FRAG_OPS_MAX)
        return 0;
    fc->op[fc->n_ops].kind = (uint16_t)kind;
    fc->op[fc->n_ops].off = fc->op[fc->n_ops].len = 0;
    fc->n_ops++;
    return 1;
}

/* The scan of put_fragment_scan, recording what it would write. */
static __attribute__((noinline, cold)) void compile_fragment(frag_code *fc,
                                                             const ns_issue *is)
{
    fc->is = is;
    memcpy(fc->unit, is->unit, sizeof fc->unit);
    memcpy(fc->phrase, is->phrase, sizeof fc->phrase);
    fc->phrase_blocks = (int)((strnlen(is->phrase, sizeof is->phrase - 1) + 16) / 16);
    memset(fc->text, 0, sizeof fc->text);
    fc->n_ops = 0;
    int text_len = 0, ok = 1;
    const char *p = is->phrase[0] ? is->phrase : default_phrase;
    const char *limit = p + sizeof is->phrase;
    while (ok) {
        const char *run = p;
        while (p < limit && *p && *p != '{')
            p++;
        ok = lit_append(fc, &text_len, run, (size_t)(p - run));
        if (!ok || p == limit || *p == '\0')
            break;
        if (starts_with(p, "{value}")) {
            ok = op_append(fc, OP_VALUE);
            p += 7;
        } else if (starts_with(p, "{unit}")) {
            ok = is->unit[0] ? lit_append(fc, &text_len, is->unit,
                                          strnlen(is->unit, sizeof is->unit))
                             : op_append(fc, OP_DROP_BLANK);
            p += 6;
        } else {
            ok = lit_append(fc, &text_len, "{", 1);
            p++;
        }
    }
    if (!ok) {
        fc->n_ops = -1;
        fc->simple = 0;
        return;
    }
    /* [LIT] VALUE [LIT] */
    int k = 0;
    fc->pre_off = fc->pre_len = fc->post_off = fc->post_len = 0;
    if (k < fc->n_ops && fc->op[k].kind == OP_LIT) {
        fc->pre_off = fc->op[k].off;
        fc->pre_len = fc->op[k].len;
        k++;
    }
    fc->simple = k < fc->n_ops && fc->op[k].kind == OP_VALUE;
    k++;
    if (fc->simple && k < fc->n_ops && fc->op[k].kind == OP_LIT) {
        fc->post_off = fc->op[k].off;
        fc->post_len = fc->op[k].len;
        k++;
    }
    fc->simple = fc->simple && k == fc->n_ops;
}

/* The compiled template of issue position i (is), compiled on a miss. */
static inline const frag_code *fragment_code(int i, const ns_issue *is)
{
    frag_code *set = frag_cache[i];
    for (int k = 0; k < FRAG_WAYS; k++)
        if (set[k].is == is && key_matches(&set[k], is))
            return &set[k];
    frag_code *fc = &set[frag_next[i]++ % FRAG_WAYS];
    compile_fragment(fc, is);
    return fc;
}

/* put() of compiled literal text, which is readable 32 bytes on. */
static inline __attribute__((always_inline)) void put_text(writer *w, const char *s,
                                                           size_t n)
{
    if (n <= 32 && w->end - w->p >= 32) {
        memcpy(w->p, s, 32); /* bytes past n are scratch, as in copy_run */
        w->p += n;
    } else {
        put(w, s, n);
    }
}

static inline __attribute__((always_inline)) void put_fragment(writer *w, const frag_code *fc,
                                                               const ns_issue *is, double v)
{
    if (fc->simple) {
        /* once truncated, nothing more is written (p stays at end), so
         * only a dropped blank needs the checks of the loop below */
        put_text(w, fc->text + fc->pre_off, fc->pre_len);
        put_value(w, is, v);
        put_text(w, fc->text + fc->post_off, fc->post_len);
        return;
    }
    if (fc->n_ops < 0) {
        put_fragment_scan(w, is, v);
        return;
    }
    const char *begin = w->p; /* only this fragment's own blank is dropped */
    for (int k = 0; k < fc->n_ops; k++) {
        const frag_op *op = &fc->op[k];
        switch (op->kind) {
        case OP_LIT:
            put_text(w, fc->text + op->off, op->len);
            break;
        case OP_VALUE:
            put_value(w, is, v);
            break;
        default: /* OP_DROP_BLANK */
            if (w->p > begin && w->p[-1] == ' ')
                w->p--;
            break;
        }
        if (w->truncated)
            return;
    }
}

/* ------------------------------------------------------ whole offer bodies
 *
 * When every issue's template has the common shape, the text between two
 * values (one fragment's tail, the separator, the next one's head) is a
 * constant of the scenario: a plan holds these runs merged, so a body is
 * n + 1 copies and n values. Like a compiled template, a plan is checked
 * on every use against the bytes it was made from (each issue's unit and
 * its phrase up to the NUL, read straight from the scenario), in one pass
 * that replaces the per-issue template lookups. A run is put() whole, so
 * where the text is cut, and whether, is the same as when its pieces are
 * put one by one; and with no blank to drop (simple shapes only), nothing
 * is written after a cut either way. */

#define PLAN_TEXT_MAX 2048
#define PLAN_WAYS 4
#define PLAN_KEYS (NS_MAX_ISSUES * (1 + sizeof((ns_issue *)0)->phrase / 16))

typedef struct msg_plan {
    const ns_scenario *sc;                /* where it was last seen; NULL: empty */
    int n;                                /* issues */
    int n_keys;
    uint32_t key_off[PLAN_KEYS];          /* offsets in the scenario of ... */
    char key[PLAN_KEYS][16];              /* ... these 16-byte blocks */
    uint16_t off[NS_MAX_ISSUES + 1], len[NS_MAX_ISSUES + 1]; /* run k precedes value k */
    char text[PLAN_TEXT_MAX + 64];        /* zero padded: runs copy 64 bytes */
} msg_plan;

static _Thread_local msg_plan plan_cache[PLAN_WAYS];
static _Thread_local unsigned plan_next;

static int plan_append(msg_plan *mp, int *used, const char *s, size_t n)
{
    if ((size_t)*used + n > PLAN_TEXT_MAX)
        return 0;
    memcpy(mp->text + *used, s, n);
    *used += (int)n;
    return 1;
}

static void plan_key(msg_plan *mp, const ns_scenario *sc, const char *field)
{
    uint32_t off = (uint32_t)(field - (const char *)sc);
    mp->key_off[mp->n_keys] = off;
    memcpy(mp->key[mp->n_keys], field, 16);
    mp->n_keys++;
}

/* A plan for sc from its compiled templates (all simple), or NULL. */
static __attribute__((noinline, cold)) const msg_plan *
plan_build(const ns_scenario *sc, const frag_code *const *fc, int n)
{
    msg_plan *mp = &plan_cache[plan_next++ % PLAN_WAYS];
    memset(mp, 0, sizeof *mp);
    int used = 0, ok = 1, longest = 0;
    for (int k = 0; k <= n && ok; k++) {
        mp->off[k] = (uint16_t)used;
        if (k > 0) /* the tail of fragment k-1 */
            ok = plan_append(mp, &used, fc[k - 1]->text + fc[k - 1]->post_off,
                             fc[k - 1]->post_len);
        if (ok && k > 0 && k < n) /* the separator before fragment k */
            ok = k == n - 1 ? plan_append(mp, &used, " and ", 5)
                            : plan_append(mp, &used, ", ", 2);
        if (ok && k < n) /* the head of fragment k */
            ok = plan_append(mp, &used, fc[k]->text + fc[k]->pre_off, fc[k]->pre_len);
        mp->len[k] = (uint16_t)(used - mp->off[k]);
        if (mp->len[k] > longest)
            longest = mp->len[k];
    }
    if (!ok || longest > 64) {
        memset(mp, 0, sizeof *mp); /* the slot stays empty */
        return NULL;
    }
    /* fc[i] was checked against issue i just now, so its block count is
     * that of the issue's phrase as it is */
    for (int i = 0; i < n; i++) {
        plan_key(mp, sc, sc->issue[i].unit);
        for (int k = 0; k < fc[i]->phrase_blocks; k++)
            plan_key(mp, sc, sc->issue[i].phrase + 16 * k);
    }
    mp->n = n;
    mp->sc = sc;
    return mp;
}

static inline const msg_plan *plan_lookup(const ns_scenario *sc)
{
    for (int w = 0; w < PLAN_WAYS; w++) {
        const msg_plan *mp = &plan_cache[w];
        if (mp->sc != sc || mp->n != sc->n_issues)
            continue;
        blk_acc d = blk_diff(mp->key[0], (const char *)sc + mp->key_off[0]);
        for (int k = 1; k < mp->n_keys; k++)
            d |= blk_diff(mp->key[k], (const char *)sc + mp->key_off[k]);
        if (blk_is_zero(d))
            return mp;
    }
    return NULL;
}

/* One run of a plan: put() of it, a fixed-size copy when 64 bytes are free. */
static inline __attribute__((always_inline)) void put_run(writer *w, const msg_plan *mp,
                                                          int k)
{
    if (w->end - w->p >= 64) {
        memcpy(w->p, mp->text + mp->off[k], 64); /* bytes past len: scratch */
        w->p += mp->len[k];
    } else {
        put(w, mp->text + mp->off[k], mp->len[k]);
    }
}

static void put_fragments(writer *out, const ns_scenario *sc, const double *v)
{
    /* Work on a local copy (everything below is inlined into this loop):
     * through the pointer, every byte stored would make the compiler
     * reload the writer, since a char store may alias it. */
    writer lw = *out, *w = &lw;
    int n = sc->n_issues;
    const msg_plan *mp = plan_lookup(sc);
    const frag_code *fc[NS_MAX_ISSUES];
    if (!mp) {
        int simple = n > 0;
        for (int i = 0; i < n; i++) {
            fc[i] = fragment_code(i, &sc->issue[i]);
            simple &= fc[i]->simple;
        }
        if (simple)
            mp = plan_build(sc, fc, n);
    }
    if (mp) {
        for (int i = 0; i < n; i++) {
            put_run(w, mp, i);
            put_value(w, &sc->issue[i], v[i]);
        }
        put_run(w, mp, n);
        *out = lw;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            if (i == n - 1)
                PUT_LIT(w, " and ");
            else
                PUT_LIT(w, ", ");
        }
        put_fragment(w, fc[i], &sc->issue[i], v[i]);
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
