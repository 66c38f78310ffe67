/*
 * ns_fs.h - small file-system helpers shared by the commands that write
 * files (run, analyze, plot, export).
 */
#ifndef NS_FS_H
#define NS_FS_H

#include "ns_status.h"

/* Creates `dir` and any missing parents (like mkdir -p). */
ns_status ns_fs_mkdirs(const char *dir, ns_error *err);

#endif
