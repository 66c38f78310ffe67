/*
 * ns_fs.c - file-system helpers (see ns_fs.h).
 */
#include "ns_fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

ns_status ns_fs_mkdirs(const char *dir, ns_error *err)
{
    char buf[PATH_MAX];
    int n = snprintf(buf, sizeof buf, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof buf)
        return ns_fail(err, NS_ERR_USAGE, "folder name too long: %.64s...", dir);
    /* each parent in turn; an existing one is fine */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create folder %s", buf);
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create folder %s", buf);
    return NS_OK;
}
