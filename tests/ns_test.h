/*
 * ns_test.h - the few macros every C test program shares. A test counts
 * its checks, prints each failure with file, line, expected and actual
 * values, and ends with "NAME: N passed, N failed" (the closing line CI
 * reads); it exits non-zero when anything failed.
 */
#ifndef NS_TEST_H
#define NS_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ns_status.h"

static int passed, failed;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            passed++;                                                         \
        } else {                                                              \
            failed++;                                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

/* A status check that shows both statuses and the error message. */
#define CHECK_ST(got, want, err)                                              \
    CHECK((got) == (want), "status: expected %s, got %s (%s)",                \
          ns_status_str(want), ns_status_str(got), (err).msg)

/* Two strings are equal; shows both (a NULL actual is a failure). */
#define CHECK_STR(expected, actual, what)                                     \
    do {                                                                      \
        const char *e_ = (expected), *a_ = (actual);                          \
        CHECK(a_ && strcmp(e_, a_) == 0, "%s: expected \"%s\", got \"%s\"",    \
              (what), e_, a_ ? a_ : "(null)");                                \
    } while (0)

/* Prints the closing line and returns main's exit status. */
static inline int ns_test_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed != 0;
}

#endif
