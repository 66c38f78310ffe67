/*
 * ns_status.h - the one status enum of negsim, and the error buffer that
 * carries the detail.
 *
 * Every fallible function returns an ns_status and, on failure, writes a
 * human-readable message into an ns_error the caller passed in. Library
 * errors (HDF5, GSL, libfyaml, zlib, errno) are translated into these codes
 * at the module boundary that calls the library. Nothing below main()
 * prints errors or exits: main() maps the status to an exit code.
 */
#ifndef NS_STATUS_H
#define NS_STATUS_H

#include <stddef.h>

typedef enum ns_status {
    NS_OK = 0,          /* success */
    NS_ERR_USAGE,       /* bad command line: exit 2 */
    NS_ERR_INPUT,       /* bad spec, scenario or catalogue content: exit 2 */
    NS_ERR_IO,          /* a file could not be read, written or synced */
    NS_ERR_HDF5,        /* the HDF5 library reported a failure */
    NS_ERR_NOMEM,       /* an allocation failed */
    NS_ERR_EXISTS,      /* the output exists and --force was not given */
    NS_ERR_CORRUPT,     /* a results file or journal is not what it claims */
    NS_ERR_MISMATCH,    /* --resume against a file written by another spec */
    NS_ERR_INTERRUPTED, /* stopped by a signal; what finished is saved */
    NS_ERR_NOTFOUND,    /* a job, table or file that was asked for is absent */
    NS_ERR_BUDGET,      /* an LLM run stopped at its spending cap; what
                           finished is saved and --resume continues: exit 3 */
    NS_ERR_INTERNAL     /* a broken invariant: a bug in negsim */
} ns_status;

/* Detail for the last failure. `msg` is always NUL-terminated. */
typedef struct ns_error {
    ns_status code;
    char msg[1024];
} ns_error;

/* Short constant name of a status, e.g. "input error". */
const char *ns_status_str(ns_status s);

/* Formats the message into `err` (which may be NULL) and returns `code`,
 * so that error paths read `return ns_fail(err, NS_ERR_IO, "...", ...);`. */
ns_status ns_fail(ns_error *err, ns_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ns_fail but appends ": <strerror(errno_value)>". */
ns_status ns_fail_errno(ns_error *err, ns_status code, int errno_value,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Process exit code for a status: 0 ok, 2 usage/input, 3 budget reached,
 * 130 interrupted, 1 anything else. */
int ns_status_exit_code(ns_status s);

/* Out-of-memory is not recoverable in a batch tool: these abort with a
 * message in one place (as Redis's zmalloc does) instead of threading
 * NS_ERR_NOMEM through every hot path. */
void *ns_xmalloc(size_t n);
void *ns_xcalloc(size_t count, size_t size);
void *ns_xrealloc(void *p, size_t n);
char *ns_xstrdup(const char *s);

#endif
