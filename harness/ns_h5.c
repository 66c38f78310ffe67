/*
 * ns_h5.c - HDF5 error translation (see ns_h5.h).
 */
#include "ns_h5.h"

#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>

/* H5Ewalk2 callback: keeps the description of the innermost frame. */
static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf(data, 256, "%s", e->desc);
    return 0;
}

ns_status ns_h5_fail(ns_error *err, ns_status code, const char *fmt, ...)
{
    char what[512], detail[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, detail);
    H5Eclear2(H5E_DEFAULT);
    if (detail[0])
        return ns_fail(err, code, "%s: %s", what, detail);
    return ns_fail(err, code, "%s", what);
}
