/*
 * ns_journal.h - the run's commit log: an append-only file of checksummed
 * result blocks, in grid order, beside the results file (FILE.journal).
 *
 * A block is committed once ns_journal_commit() has returned (fdatasync).
 * After a crash the journal is replayed: records are checked (length,
 * XXH64 checksum, contiguous grid ranges) and the first bad record and
 * everything after it, a torn write from the crash, is cut off. The header
 * carries the spec digest so a journal is never replayed into another
 * spec's run, and the record layout (struct sizes) so it is never read by a
 * build that lays rows out differently.
 */
#ifndef NS_JOURNAL_H
#define NS_JOURNAL_H

#include <stdint.h>

#include "ns_record.h"
#include "ns_status.h"

typedef struct ns_journal ns_journal;

typedef ns_status (*ns_journal_replay_fn)(void *ctx, const ns_block *b,
                                          ns_error *err);

/* Creates a new, empty journal at path (replacing any). */
ns_status ns_journal_create(const char *path, uint64_t digest,
                            ns_journal **out, ns_error *err);
/* Opens an existing journal: replays every valid block in order through fn
 * (fn may be NULL), truncates a torn tail, and returns the journal ready
 * for appending. *end_index is the grid index after the last valid block
 * (0 when none). NS_ERR_MISMATCH when the digest differs or the journal
 * was written by a build with another record layout (the message says
 * which); NS_ERR_CORRUPT when it is not a journal. */
ns_status ns_journal_resume(const char *path, uint64_t digest,
                            ns_journal_replay_fn fn, void *ctx,
                            uint64_t *end_index, ns_journal **out,
                            ns_error *err);
/* Appends a block (buffered in the OS; not yet committed). Blocks must be
 * appended in grid order without gaps. */
ns_status ns_journal_append(ns_journal *j, const ns_block *b, ns_error *err);
/* Makes everything appended so far durable (fdatasync). */
ns_status ns_journal_commit(ns_journal *j, ns_error *err);
void ns_journal_close(ns_journal *j); /* NULL is a no-op */

#endif
