/*
 * ns_h5.h - the one place HDF5 failures become ns_status errors, shared by
 * the writer (ns_store) and the readers (ns_results). HDF5's own error
 * printing is switched off by those modules; this takes the innermost
 * message from HDF5's error stack instead, so a failure reads
 * "cannot open x.h5: unable to open file" rather than a stack dump.
 */
#ifndef NS_H5_H
#define NS_H5_H

#include "ns_status.h"

/* Formats `fmt` plus ": <innermost HDF5 message>" into err, clears HDF5's
 * error stack and returns `code`. */
ns_status ns_h5_fail(ns_error *err, ns_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
