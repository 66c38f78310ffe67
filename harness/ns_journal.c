/*
 * ns_journal.c - the run's commit log (FILE.journal): an append-only file
 * of checksummed result blocks in grid order.
 *
 * File format (native byte order; the header pins the build's layout):
 *
 *   header   jr_header: magic "NSJRNL01", format version (2), the spec
 *            digest, sizeof of each row struct, NS_MAX_ISSUES,
 *            NS_TEXT_LEN, NS_NAME_LEN, NS_N_TRAITS, sizeof of the two LLM
 *            row structs, and an XXH64 of those bytes.
 *   records  jr_record {magic, flags, payload length, first_index,
 *            end_index, n_jobs, n_turns, checksum} followed by the payload:
 *              n_jobs   x ns_job_row      (raw struct bytes)
 *              n_jobs   x ns_outcome_row  (raw struct bytes)
 *              n_turns  x ns_turn_row     (raw struct bytes)
 *            then, for a block without LLM rows (flag JR_LLM clear):
 *              n_turns  x compact text    (when flag JR_TEXTS is set):
 *                  the row's bytes before `text` (job_id, turn, speaker),
 *                  a uint16 length, then that many text bytes;
 *            or, for a block with them (JR_LLM, the block's has_llm):
 *              n_jobs   x ns_llm_job_row  (raw struct bytes)
 *              n_turns  x ns_llm_turn_row (raw struct bytes)
 *              the block's arena: the rest of the payload (arena_len
 *                  bytes), message texts and judge summaries, which the
 *                  LLM rows reference by offset; its texts[] rows are not
 *                  used, so none are written.
 *            JR_TEXTS is the block's has_texts: a block without texts
 *            (transcripts off) has its text rows unfilled, so none are
 *            read or written, and replay gives it has_texts 0 again.
 *            The checksum is XXH64 over the record header (checksum field
 *            zero) followed by the payload, so a damaged count or index in
 *            the header is caught as surely as damaged rows.
 *
 * Texts are stored compactly because they dominate the volume (a 256-byte
 * field holding a message of ~170 characters); the reader zero-pads them
 * back, so a replayed block has exactly the bytes the store writes. The
 * arena of an LLM block is compact already (texts end to end, whole, not
 * cut to any column width) and comes back byte for byte, offsets
 * included.
 *
 * Refusals. A journal whose header differs from the one this build would
 * write for this spec is refused with NS_ERR_MISMATCH, and the message
 * says which part differs: the record layout (another negsim build: other
 * struct sizes or NS_MAX_ISSUES) or the spec digest (another spec, or its
 * scenarios or catalogues changed). Bytes that do not start like a journal
 * at all are NS_ERR_CORRUPT.
 *
 * A record is appended with one writev() and its writeback is started at
 * once (sync_file_range), so that ns_journal_commit(), an fdatasync(),
 * waits only for the last few records. Replay reads records in order and
 * stops at the first one that is short, has a bad magic, inconsistent
 * sizes, a bad checksum or a first_index that does not continue the
 * previous end_index; it truncates the file there (a torn write from a
 * crash) and syncs the truncation before anything is appended after it.
 * A header cut short by a crash inside ns_journal_create is completed.
 */
/* for sync_file_range(2); must come before any system header */
#define _GNU_SOURCE
#include "ns_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#define JR_MAGIC "NSJRNL01"
#define JR_VERSION 2u               /* 2: LLM rows and the arena */
#define JR_RECORD_MAGIC 0x524a534eu /* "NSJR" read as little-endian bytes */
#define JR_TEXTS 1u                 /* record flag: has_texts; compact texts follow */
#define JR_LLM 2u                   /* record flag: has_llm; LLM rows and arena follow */

/* Bytes of a transcript row before its text, written verbatim. */
#define JR_TEXT_PREFIX offsetof(ns_transcript_row, text)
#define JR_TEXT_MIN (JR_TEXT_PREFIX + sizeof(uint16_t))

typedef struct jr_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t digest;
    uint32_t job_row_size, outcome_row_size, turn_row_size, text_row_size;
    uint32_t max_issues, text_len, name_len, n_traits;
    uint32_t llm_job_row_size, llm_turn_row_size;
    uint64_t checksum; /* XXH64 of the bytes before this field */
} jr_header;

typedef struct jr_record {
    uint32_t magic;
    uint32_t flags;
    uint64_t payload_len;
    uint64_t first_index, end_index;
    uint64_t n_jobs, n_turns;
    uint64_t checksum;
} jr_record;

_Static_assert(sizeof(jr_header) == 72, "journal header has no padding");
_Static_assert(sizeof(jr_record) == 56, "journal record header has no padding");
_Static_assert(NS_TEXT_LEN <= UINT16_MAX, "text length fits the uint16 prefix");

struct ns_journal {
    int fd;
    char *path;
    uint64_t end_index;   /* the next block must start here */
    off_t size;           /* bytes of valid records (the append position) */
    XXH64_state_t *hash;
    unsigned char *texts; /* compact-text scratch, reused across appends */
    size_t texts_cap;
};

/* ---- shared helpers ---------------------------------------------------- */

static void header_fill(jr_header *h, uint64_t digest)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, JR_MAGIC, sizeof h->magic);
    h->version = JR_VERSION;
    h->header_size = sizeof *h;
    h->digest = digest;
    h->job_row_size = sizeof(ns_job_row);
    h->outcome_row_size = sizeof(ns_outcome_row);
    h->turn_row_size = sizeof(ns_turn_row);
    h->text_row_size = sizeof(ns_transcript_row);
    h->max_issues = NS_MAX_ISSUES;
    h->text_len = NS_TEXT_LEN;
    h->name_len = NS_NAME_LEN;
    h->n_traits = NS_N_TRAITS;
    h->llm_job_row_size = sizeof(ns_llm_job_row);
    h->llm_turn_row_size = sizeof(ns_llm_turn_row);
    h->checksum = XXH64(h, offsetof(jr_header, checksum), 0);
}

/* Bytes of the fixed-size row arrays of a record (with the LLM rows when
 * `llm`), or UINT64_MAX when the counts overflow (a damaged header). */
static uint64_t fixed_payload(uint64_t n_jobs, uint64_t n_turns, int llm)
{
    const uint64_t per_job = sizeof(ns_job_row) + sizeof(ns_outcome_row) +
                             (llm ? sizeof(ns_llm_job_row) : 0);
    const uint64_t per_turn = sizeof(ns_turn_row) + (llm ? sizeof(ns_llm_turn_row) : 0);
    if (n_jobs > UINT64_MAX / 2 / per_job || n_turns > UINT64_MAX / 2 / per_turn)
        return UINT64_MAX;
    return n_jobs * per_job + n_turns * per_turn;
}

static ns_journal *journal_new(int fd, const char *path)
{
    ns_journal *j = ns_xcalloc(1, sizeof *j);
    j->fd = fd;
    j->path = ns_xstrdup(path);
    j->hash = XXH64_createState();
    if (!j->hash) {
        free(j->path);
        free(j);
        return NULL;
    }
    return j;
}

void ns_journal_close(ns_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    XXH64_freeState(j->hash);
    free(j->texts);
    free(j->path);
    free(j);
}

/* Makes a new directory entry durable: without this a crash right after
 * creation could lose the journal file itself. */
static ns_status sync_parent_dir(const char *path, ns_error *err)
{
    char *dir = ns_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    ns_status st = NS_OK;
    if (fd < 0 || fsync(fd) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot sync directory %s", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return st;
}

/* write(2) until done: short writes happen on full disks and signals. */
static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        size_t done = (size_t)w;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* ---- create ------------------------------------------------------------ */

ns_status ns_journal_create(const char *path, uint64_t digest, ns_journal **out,
                            ns_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create journal %s", path);
    jr_header h;
    header_fill(&h, digest);
    if (write_all(fd, &h, sizeof h) != 0 || fdatasync(fd) != 0) {
        int e = errno;
        close(fd);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot write journal %s", path);
    }
    ns_status st = sync_parent_dir(path, err);
    if (st != NS_OK) {
        close(fd);
        return st;
    }
    ns_journal *j = journal_new(fd, path);
    if (!j) {
        close(fd);
        return ns_fail(err, NS_ERR_NOMEM, "cannot allocate a hash state");
    }
    j->size = (off_t)sizeof h;
    *out = j;
    return NS_OK;
}

/* ---- append ------------------------------------------------------------ */

/* Packs the block's texts as prefix + uint16 length + bytes into j->texts;
 * returns the packed size. */
static size_t pack_texts(ns_journal *j, const ns_block *b)
{
    size_t need = b->n_turns * (JR_TEXT_MIN + NS_TEXT_LEN);
    if (need > j->texts_cap) {
        j->texts = ns_xrealloc(j->texts, need);
        j->texts_cap = need;
    }
    unsigned char *p = j->texts;
    for (size_t k = 0; k < b->n_turns; k++) {
        const ns_transcript_row *t = &b->texts[k];
        uint16_t len = (uint16_t)strnlen(t->text, NS_TEXT_LEN);
        memcpy(p, t, JR_TEXT_PREFIX);
        memcpy(p + JR_TEXT_PREFIX, &len, sizeof len);
        memcpy(p + JR_TEXT_MIN, t->text, len);
        p += JR_TEXT_MIN + len;
    }
    return (size_t)(p - j->texts);
}

static uint64_t record_checksum(ns_journal *j, const jr_record *r,
                                const struct iovec *parts, int n_parts)
{
    jr_record h = *r;
    h.checksum = 0;
    XXH64_reset(j->hash, 0);
    XXH64_update(j->hash, &h, sizeof h);
    for (int i = 0; i < n_parts; i++)
        XXH64_update(j->hash, parts[i].iov_base, parts[i].iov_len);
    return XXH64_digest(j->hash);
}

/* Starts writing the record to disk now, without waiting: the commit's
 * fdatasync then only waits for the last records instead of a whole
 * commit interval's worth, so the writer thread is not stalled for long.
 * A hint only; errors show up at the commit. */
static void start_writeback(ns_journal *j, off_t at, off_t len)
{
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(j->fd, at, len, SYNC_FILE_RANGE_WRITE);
#else
    (void)j;
    (void)at;
    (void)len;
#endif
}

/* Cuts a failed append off again, so the file never keeps half a record
 * in front of later ones. */
static void undo_append(ns_journal *j)
{
    if (ftruncate(j->fd, j->size) == 0)
        lseek(j->fd, j->size, SEEK_SET);
}

ns_status ns_journal_append(ns_journal *j, const ns_block *b, ns_error *err)
{
    if (b->first_index != j->end_index || b->end_index < b->first_index)
        return ns_fail(err, NS_ERR_INTERNAL,
                       "journal %s: block [%llu, %llu) does not continue at %llu",
                       j->path, (unsigned long long)b->first_index,
                       (unsigned long long)b->end_index,
                       (unsigned long long)j->end_index);
    jr_record r = {.magic = JR_RECORD_MAGIC,
                   .first_index = b->first_index,
                   .end_index = b->end_index,
                   .n_jobs = b->n_jobs,
                   .n_turns = b->n_turns};
    struct iovec iov[7];
    int n = 0;
    iov[n++] = (struct iovec){&r, sizeof r};
    iov[n++] = (struct iovec){b->jobs, b->n_jobs * sizeof *b->jobs};
    iov[n++] = (struct iovec){b->outcomes, b->n_jobs * sizeof *b->outcomes};
    iov[n++] = (struct iovec){b->turns, b->n_turns * sizeof *b->turns};
    if (b->has_texts)
        r.flags |= JR_TEXTS;
    if (b->has_llm) {
        /* texts are in the arena: the texts[] rows are not filled */
        r.flags |= JR_LLM;
        iov[n++] = (struct iovec){b->llm_jobs, b->n_jobs * sizeof *b->llm_jobs};
        iov[n++] = (struct iovec){b->llm_turns, b->n_turns * sizeof *b->llm_turns};
        iov[n++] = (struct iovec){b->arena, b->arena_len};
    } else if (b->has_texts) {
        /* without has_texts the text rows are not filled: never read them */
        if (b->n_turns > 0) {
            size_t len = pack_texts(j, b); /* may move j->texts */
            iov[n++] = (struct iovec){j->texts, len};
        }
    }
    for (int i = 1; i < n; i++)
        r.payload_len += iov[i].iov_len;
    r.checksum = record_checksum(j, &r, iov + 1, n - 1);
    if (writev_all(j->fd, iov, n) != 0) {
        int e = errno;
        undo_append(j);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot append to journal %s",
                             j->path);
    }
    start_writeback(j, j->size, (off_t)(sizeof r + r.payload_len));
    j->size += (off_t)(sizeof r + r.payload_len);
    j->end_index = b->end_index;
    return NS_OK;
}

ns_status ns_journal_commit(ns_journal *j, ns_error *err)
{
    if (fdatasync(j->fd) != 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot sync journal %s",
                             j->path);
    return NS_OK;
}

/* ---- resume ------------------------------------------------------------ */

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* How a header, or the first n bytes of one, differs from the header this
 * build writes for `digest`. */
typedef enum header_diff {
    HDR_SAME,
    HDR_NOT_JOURNAL, /* the magic differs */
    HDR_LAYOUT,      /* format version or record layout: another build */
    HDR_SPEC         /* only the spec digest */
} header_diff;

static int range_differs(const void *a, const void *b, size_t from, size_t to, size_t n)
{
    if (to > n)
        to = n;
    return from < to && memcmp((const char *)a + from, (const char *)b + from, to - from) != 0;
}

static header_diff compare_header(const jr_header *have, size_t n, uint64_t digest)
{
    jr_header want;
    header_fill(&want, digest);
    const size_t dig = offsetof(jr_header, digest), dig_end = dig + sizeof want.digest;
    if (range_differs(have, &want, 0, offsetof(jr_header, version), n))
        return HDR_NOT_JOURNAL;
    if (range_differs(have, &want, offsetof(jr_header, version), dig, n) ||
        range_differs(have, &want, dig_end, offsetof(jr_header, checksum), n))
        return HDR_LAYOUT;
    if (range_differs(have, &want, dig, dig_end, n))
        return HDR_SPEC;
    return HDR_SAME;
}

/* The refusal for a header that differs; `h` is NULL for a header cut
 * short (its numbers are not all there). Each message names the reason:
 * the runner passes it on as it is. */
static ns_status header_refusal(header_diff d, const char *path, const jr_header *h,
                                ns_error *err)
{
    jr_header want;
    header_fill(&want, 0);
    if (d == HDR_NOT_JOURNAL)
        return ns_fail(err, NS_ERR_CORRUPT, "%s is not a negsim journal", path);
    if (d == HDR_SPEC)
        return ns_fail(err, NS_ERR_MISMATCH,
                       "journal %s was written by a different spec (or its "
                       "scenarios/catalogues changed); use --force to start over",
                       path);
    if (!h)
        return ns_fail(err, NS_ERR_MISMATCH,
                       "journal %s (its header cut short) was written by a negsim "
                       "build with a different record layout; use --force to start over",
                       path);
    return ns_fail(err, NS_ERR_MISMATCH,
                   "journal %s was written by a negsim build with a different record "
                   "layout (format %u, rows %u/%u/%u/%u bytes, %u issues, %u-byte "
                   "texts; this build: format %u, rows %u/%u/%u/%u bytes, %u issues, "
                   "%u-byte texts); resume it with that build, or use --force to start "
                   "over",
                   path, h->version, h->job_row_size, h->outcome_row_size,
                   h->turn_row_size, h->text_row_size, h->max_issues, h->text_len,
                   want.version, want.job_row_size, want.outcome_row_size,
                   want.turn_row_size, want.text_row_size, want.max_issues,
                   want.text_len);
}

static ns_status check_header(int fd, const char *path, uint64_t digest,
                              off_t file_size, ns_error *err)
{
    jr_header h;
    if (file_size < (off_t)sizeof h || read_all(fd, &h, sizeof h) != 0)
        return ns_fail(err, NS_ERR_CORRUPT,
                       "journal %s is too short to hold its header", path);
    if (memcmp(h.magic, JR_MAGIC, sizeof h.magic) != 0)
        return ns_fail(err, NS_ERR_CORRUPT, "%s is not a negsim journal", path);
    /* another format version may have another header size, so its checksum
     * is not where this build's is: refuse it by the version alone (the
     * fields the message prints are where every version has them) */
    if (h.version != JR_VERSION)
        return header_refusal(HDR_LAYOUT, path, &h, err);
    if (h.checksum != XXH64(&h, offsetof(jr_header, checksum), 0))
        return ns_fail(err, NS_ERR_CORRUPT, "journal %s has a damaged header", path);
    header_diff d = compare_header(&h, sizeof h, digest);
    return d == HDR_SAME ? NS_OK : header_refusal(d, path, &h, err);
}

/* A journal shorter than its header was cut by a crash inside
 * ns_journal_create, before anything could be committed. When the bytes
 * that are there are the start of the header this spec would write, the
 * header is completed and the journal is simply empty; the start of
 * another spec's or another build's header is refused as such, anything
 * else is not a negsim journal. */
static ns_status finish_torn_header(int fd, const char *path, uint64_t digest,
                                    off_t *file_size, ns_error *err)
{
    jr_header want, have;
    header_fill(&want, digest);
    size_t n = (size_t)*file_size;
    if (n > 0 && read_all(fd, &have, n) != 0)
        return ns_fail(err, NS_ERR_CORRUPT,
                       "journal %s is too short to hold its header", path);
    header_diff d = n > 0 ? compare_header(&have, n, digest) : HDR_SAME;
    if (d != HDR_SAME)
        return header_refusal(d, path, NULL, err);
    if (pwrite(fd, &want, sizeof want, 0) != (ssize_t)sizeof want || fdatasync(fd) != 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot write journal %s", path);
    *file_size = (off_t)sizeof want;
    return NS_OK;
}

/* Replay state: one block and one payload buffer, reused per record, so
 * memory is bounded by the largest record. */
typedef struct replay {
    ns_journal *j;
    ns_block blk;
    unsigned char *buf;
    size_t buf_cap;
} replay;

/* Room for the rows of a record, and for `arena` arena bytes. As in
 * ns_record.c, LLM rows, once there, always have the capacity of the
 * others. */
static void block_reserve(ns_block *b, size_t n_jobs, size_t n_turns, int llm,
                          size_t arena)
{
    if (n_jobs > b->cap_jobs) {
        b->cap_jobs = n_jobs;
        b->jobs = ns_xrealloc(b->jobs, n_jobs * sizeof *b->jobs);
        b->outcomes = ns_xrealloc(b->outcomes, n_jobs * sizeof *b->outcomes);
        if (b->llm_jobs)
            b->llm_jobs = ns_xrealloc(b->llm_jobs, n_jobs * sizeof *b->llm_jobs);
    }
    if (n_turns > b->cap_turns) {
        b->cap_turns = n_turns;
        b->turns = ns_xrealloc(b->turns, n_turns * sizeof *b->turns);
        b->texts = ns_xrealloc(b->texts, n_turns * sizeof *b->texts);
        if (b->llm_turns)
            b->llm_turns = ns_xrealloc(b->llm_turns, n_turns * sizeof *b->llm_turns);
    }
    if (llm && !b->llm_jobs)
        b->llm_jobs = ns_xmalloc((b->cap_jobs ? b->cap_jobs : 1) * sizeof *b->llm_jobs);
    if (llm && !b->llm_turns)
        b->llm_turns = ns_xmalloc((b->cap_turns ? b->cap_turns : 1) * sizeof *b->llm_turns);
    if (arena > b->arena_cap) {
        b->arena = ns_xrealloc(b->arena, arena);
        b->arena_cap = arena;
    }
}

/* Unpacks compact texts into zero-padded rows; 0 when they do not fill
 * exactly `len` bytes (a damaged record). */
static int unpack_texts(ns_block *b, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    for (size_t k = 0; k < b->n_turns; k++) {
        uint16_t n;
        if ((size_t)(end - p) < JR_TEXT_MIN)
            return 0;
        memcpy(&n, p + JR_TEXT_PREFIX, sizeof n);
        if (n > NS_TEXT_LEN || (size_t)(end - p) - JR_TEXT_MIN < n)
            return 0;
        ns_transcript_row *t = &b->texts[k];
        memset(t, 0, sizeof *t);
        memcpy(t, p, JR_TEXT_PREFIX);
        memcpy(t->text, p + JR_TEXT_MIN, n);
        p += JR_TEXT_MIN + n;
    }
    return p == end;
}

/* Reads and checks the record at the current position (`left` bytes to
 * end of file). Returns 1 and fills rp->blk when it is valid, else 0. */
static int read_record(replay *rp, jr_record *r, off_t left)
{
    ns_journal *j = rp->j;
    if (left < (off_t)sizeof *r || read_all(j->fd, r, sizeof *r) != 0)
        return 0;
    if (r->magic != JR_RECORD_MAGIC || (r->flags & ~(JR_TEXTS | JR_LLM)) != 0 ||
        r->payload_len > (uint64_t)(left - (off_t)sizeof *r) ||
        r->first_index != j->end_index || r->end_index < r->first_index)
        return 0;
    int llm = (r->flags & JR_LLM) != 0, has_texts = (r->flags & JR_TEXTS) != 0;
    uint64_t fixed = fixed_payload(r->n_jobs, r->n_turns, llm);
    uint64_t rest = r->payload_len - fixed; /* compact texts, or the arena */
    if (fixed > r->payload_len ||
        (!llm && (has_texts ? rest < r->n_turns * JR_TEXT_MIN : rest != 0)))
        return 0;
    /* payload_len is bounded by the file size, so these fit in memory. */
    size_t n_jobs = (size_t)r->n_jobs, n_turns = (size_t)r->n_turns;
    ns_block *b = &rp->blk;
    block_reserve(b, n_jobs, n_turns, llm, llm ? (size_t)rest : 0);
    if (!llm && (size_t)rest > rp->buf_cap) {
        rp->buf = ns_xrealloc(rp->buf, (size_t)rest);
        rp->buf_cap = (size_t)rest;
    }
    struct iovec parts[6];
    int n = 0;
    parts[n++] = (struct iovec){b->jobs, n_jobs * sizeof *b->jobs};
    parts[n++] = (struct iovec){b->outcomes, n_jobs * sizeof *b->outcomes};
    parts[n++] = (struct iovec){b->turns, n_turns * sizeof *b->turns};
    if (llm) {
        parts[n++] = (struct iovec){b->llm_jobs, n_jobs * sizeof *b->llm_jobs};
        parts[n++] = (struct iovec){b->llm_turns, n_turns * sizeof *b->llm_turns};
        parts[n++] = (struct iovec){b->arena, (size_t)rest};
    } else {
        parts[n++] = (struct iovec){rp->buf, (size_t)rest};
    }
    for (int i = 0; i < n; i++)
        if (parts[i].iov_len && read_all(j->fd, parts[i].iov_base, parts[i].iov_len) != 0)
            return 0;
    if (record_checksum(j, r, parts, n) != r->checksum)
        return 0;
    ns_block_reset(b, r->first_index, r->end_index);
    b->n_jobs = n_jobs;
    b->n_turns = n_turns;
    /* as appended: without texts the text rows stay unfilled, and an LLM
     * block's texts are in its arena, offsets and all */
    b->has_texts = has_texts;
    b->has_llm = llm;
    b->arena_len = llm ? (size_t)rest : 0;
    return llm || !has_texts || unpack_texts(b, rp->buf, (size_t)rest);
}

/* Cuts the file at the first bad record and makes the cut durable before
 * anything is appended after it. */
static ns_status truncate_tail(ns_journal *j, off_t file_size, ns_error *err)
{
    if (file_size == j->size)
        return lseek(j->fd, j->size, SEEK_SET) < 0
                   ? ns_fail_errno(err, NS_ERR_IO, errno, "cannot seek in %s", j->path)
                   : NS_OK;
    if (ftruncate(j->fd, j->size) != 0 || fdatasync(j->fd) != 0 ||
        lseek(j->fd, j->size, SEEK_SET) < 0)
        return ns_fail_errno(err, NS_ERR_IO, errno,
                             "cannot truncate the torn tail of journal %s", j->path);
    return NS_OK;
}

static ns_status replay_records(replay *rp, off_t file_size,
                                ns_journal_replay_fn fn, void *ctx, ns_error *err)
{
    ns_journal *j = rp->j;
    while (j->size < file_size) {
        jr_record r;
        if (!read_record(rp, &r, file_size - j->size))
            break;
        if (fn) {
            ns_status st = fn(ctx, &rp->blk, err);
            if (st != NS_OK)
                return st;
        }
        j->size += (off_t)(sizeof r + r.payload_len);
        j->end_index = r.end_index;
    }
    return truncate_tail(j, file_size, err);
}

ns_status ns_journal_resume(const char *path, uint64_t digest,
                            ns_journal_replay_fn fn, void *ctx,
                            uint64_t *end_index, ns_journal **out, ns_error *err)
{
    *out = NULL;
    *end_index = 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ns_fail_errno(err, errno == ENOENT ? NS_ERR_NOTFOUND : NS_ERR_IO,
                             errno, "cannot open journal %s", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot stat journal %s", path);
    }
    ns_status st = sb.st_size < (off_t)sizeof(jr_header)
                       ? finish_torn_header(fd, path, digest, &sb.st_size, err)
                       : check_header(fd, path, digest, sb.st_size, err);
    if (st != NS_OK) {
        close(fd);
        return st;
    }
    ns_journal *j = journal_new(fd, path);
    if (!j) {
        close(fd);
        return ns_fail(err, NS_ERR_NOMEM, "cannot allocate a hash state");
    }
    j->size = (off_t)sizeof(jr_header);
    replay rp = {.j = j};
    ns_block_init(&rp.blk);
    st = replay_records(&rp, sb.st_size, fn, ctx, err);
    ns_block_free(&rp.blk);
    free(rp.buf);
    if (st != NS_OK) {
        ns_journal_close(j);
        return st;
    }
    *end_index = j->end_index;
    *out = j;
    return NS_OK;
}
