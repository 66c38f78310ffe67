/*
 * ns_status.c - status names, error formatting and the allocation wrappers
 * that abort on out-of-memory (the only place negsim gives up on it).
 */
#include "ns_status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ns_status_str(ns_status s)
{
    switch (s) {
    case NS_OK: return "ok";
    case NS_ERR_USAGE: return "usage error";
    case NS_ERR_INPUT: return "input error";
    case NS_ERR_IO: return "I/O error";
    case NS_ERR_HDF5: return "HDF5 error";
    case NS_ERR_NOMEM: return "out of memory";
    case NS_ERR_EXISTS: return "output exists";
    case NS_ERR_CORRUPT: return "corrupt file";
    case NS_ERR_MISMATCH: return "spec mismatch";
    case NS_ERR_INTERRUPTED: return "interrupted";
    case NS_ERR_NOTFOUND: return "not found";
    case NS_ERR_BUDGET: return "budget reached";
    case NS_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

ns_status ns_fail(ns_error *err, ns_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

ns_status ns_fail_errno(ns_error *err, ns_status code, int errno_value,
                        const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s",
                     strerror(errno_value));
        err->code = code;
    }
    return code;
}

int ns_status_exit_code(ns_status s)
{
    switch (s) {
    case NS_OK: return 0;
    case NS_ERR_USAGE:
    case NS_ERR_INPUT:
    case NS_ERR_EXISTS:
    case NS_ERR_MISMATCH: return 2;
    case NS_ERR_INTERRUPTED: return 130;
    case NS_ERR_BUDGET: return 3;
    default: return 1;
    }
}

static void *check_alloc(void *p, size_t n)
{
    if (!p && n) {
        fprintf(stderr, "negsim: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *ns_xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *ns_xcalloc(size_t c, size_t s) { return check_alloc(calloc(c ? c : 1, s ? s : 1), c * s); }
void *ns_xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *ns_xstrdup(const char *s) { return check_alloc(strdup(s ? s : ""), 1); }
